import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConsoleBackend, ConsoleRefusal } from './backend.js';
import { consoleRoutes, json, type Reply, type Request } from './routes.js';
import { EventHub } from './sse.js';

/**
 * `capi-deploy console`: the web console on 127.0.0.1. Every request must carry the access token: in the URL
 * once (`/?token=...`, answered with an HttpOnly, SameSite=Strict cookie and a redirect that drops it from the
 * address bar), then in that cookie. Without it: 403. A request for another host name (DNS rebinding) is refused,
 * a POST must come from the page's own origin with a JSON body, no CORS header is ever sent, and every answer has a
 * strict Content-Security-Policy: the page runs only its own script and loads nothing from elsewhere.
 */

const COOKIE = 'capi_console';
const MAX_BODY = 1_000_000;

/** The page's policy: its own script, style and connections (the event stream), frames of its own timeline. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

interface ConsoleServerOptions {
  backend: ConsoleBackend;
  /** @default 0: a free port */
  port?: number;
  /** @default a random 32-byte token */
  token?: string;
}

interface ConsoleServer {
  /** `http://127.0.0.1:PORT/?token=...`: what to open. */
  url: string;
  origin: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function cookieToken(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === COOKIE) return value.join('=');
  }
  return null;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ConsoleRefusal(400, [`request body over ${MAX_BODY} bytes`]));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      } catch {
        reject(new ConsoleRefusal(400, ['request body: not valid JSON']));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    ...SECURITY_HEADERS,
    'content-type': reply.type ?? 'text/plain; charset=utf-8',
    ...reply.headers,
  });
  res.end(reply.body);
}

const refused = (status: number, message: string): Reply => ({ status, body: `${message}\n` });

/** Starts the console on 127.0.0.1; resolves once it listens. */
async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const { backend } = options;
  const hub = new EventHub((execution) => backend.execution(execution));
  backend.onChange((deployment, execution) => hub.changed(deployment, execution));
  const routes = consoleRoutes(backend, hub);
  let port = 0;
  const hosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!hosts().has(req.headers.host ?? '')) return send(res, refused(403, 'forbidden: unexpected Host'));
    const given = url.searchParams.get('token');
    const fromCookie = cookieToken(req);
    const authorized =
      (given !== null && sameText(given, token)) || (fromCookie !== null && sameText(fromCookie, token));
    if (!authorized)
      return send(res, refused(403, 'forbidden: open the address printed by capi-deploy console'));
    if (given !== null && req.method === 'GET') {
      // The token goes into the cookie, and out of the address bar and the history.
      url.searchParams.delete('token');
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        location: `${url.pathname}${url.search}`,
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      });
      res.end();
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'POST') return send(res, refused(405, 'method not allowed'));
    if (method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && !hosts().has(origin.replace(/^http:\/\//, ''))) {
        return send(res, refused(403, 'forbidden: cross-origin request'));
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return send(res, refused(415, 'expected application/json'));
      }
    }
    for (const route of routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      const request: Request = {
        method,
        path: url.pathname,
        query: url.searchParams,
        params: match.slice(1),
        body: () => readBody(req),
        req,
        res,
      };
      const reply = await route.handler(request);
      if (reply) send(res, reply);
      return;
    }
    send(res, json({ problems: [`${method} ${url.pathname}: no such page`] }, 404));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (error instanceof ConsoleRefusal) return send(res, json({ problems: error.problems }, error.status));
      const known = error.name === 'StateFileProblem' || error.name === 'StateDirBusy';
      send(res, json({ problems: [error.message] }, known ? 409 : 500));
      if (!known) console.error(`console: ${req.method} ${req.url}: ${error.stack ?? error.message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    port,
    async close() {
      hub.close();
      await backend.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { ConsoleServer, ConsoleServerOptions };
export { CSP, startConsoleServer };
