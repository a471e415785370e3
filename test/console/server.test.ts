import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleBackend } from '../../src/console/backend.js';
import { ConsoleRefusal } from '../../src/console/backend.js';
import { type ConsoleServer, startConsoleServer } from '../../src/console/server.js';
import { failedCreate } from '../report/fixtures.js';

/** The console's HTTP surface without a browser: the token, the headers, the API and the event stream. */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  server: ConsoleServer,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? `127.0.0.1:${server.port}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Reads an event stream until `until` holds for the text received, then closes it. */
function readEvents(server: ConsoleServer, path: string, cookie: string, until: (text: string) => boolean) {
  return new Promise<{ status: number; type: string | undefined; text: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, headers: { cookie, host: `127.0.0.1:${server.port}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (until(text)) {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text });
          }
        });
      },
    );
    req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
    req.end();
  });
}

const record = failedCreate({
  resource: 'node cass002 (capi-cassandra-install)',
  id: 'i-0abc',
  awsError: 'CommandFailed',
  message: 'exit code 100, ExternalId=abc-secret-123',
  hint: 'fix the package source, then create again',
});

const started: string[] = [];
const backend: ConsoleBackend = {
  mode: 'local',
  canChange: true,
  canStop: true,
  where: 'state dir /tmp/test',
  deployments: async () => [
    {
      deployment: 'sample',
      region: 'us-east-1',
      operation: 'create',
      status: 'FAILED',
      execution: record.execution,
      resources: 2,
      billed: 1,
      hourlyUsd: 0.045,
    },
  ],
  deployment: async () => null,
  execution: async (name) => (name === record.execution || name === 'sample' ? record : null),
  create: async (text) => {
    if (!text.includes('"name"')) throw new ConsoleRefusal(400, ['spec.json: name: is required']);
    started.push('create');
    return { execution: 'create-sample-20261124T010203Z', message: 'create sample started' };
  },
  resume: async () => ({ execution: 'x', message: '' }),
  delete: async () => ({ execution: 'x', message: '' }),
  stop: async () => undefined,
  onChange: () => undefined,
  close: async () => undefined,
};

describe('console server', () => {
  let server: ConsoleServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startConsoleServer({ backend });
    cookie = `capi_console=${server.token}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('prints an address on 127.0.0.1 with a long random token', () => {
    // Assess
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
  });

  it('refuses every request without the token', async () => {
    // Act
    const answers = await Promise.all(
      ['/', '/assets/console.js', '/api/deployments', '/api/events', '/api/info'].map((path) =>
        call(server, path),
      ),
    );
    const wrong = await call(server, '/?token=nope');
    const post = await call(server, '/api/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"spec":"{\\"name\\":\\"x\\"}"}',
    });

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403]);
    expect(wrong.status).toBe(403);
    expect(post.status).toBe(403);
    expect(started).toEqual([]);
  });

  it('trades the token in the address for a strict cookie and drops it from the address', async () => {
    // Act
    const answer = await call(server, `/?token=${server.token}`);

    // Assess
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/');
    expect(answer.headers['set-cookie']).toEqual([
      `capi_console=${server.token}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
  });

  it('serves the page with a strict CSP and no CORS header', async () => {
    // Act
    const page = await call(server, '/', { headers: { cookie, origin: 'http://evil.example' } });

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(Object.keys(page.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(page.body).not.toMatch(/https?:\/\//);
  });

  it('refuses another Host name (DNS rebinding) even with the token', async () => {
    // Act
    const answer = await call(server, '/api/info', {
      headers: { cookie },
      host: `evil.example:${server.port}`,
    });

    // Assess
    expect(answer.status).toBe(403);
  });

  it('refuses a POST from another origin or without a JSON body', async () => {
    // Act
    const foreign = await call(server, '/api/deployments', {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{"spec":"{\\"name\\":\\"x\\"}"}',
    });
    const form = await call(server, '/api/deployments', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'spec=x',
    });
    const preflight = await call(server, '/api/deployments', { method: 'OPTIONS', headers: { cookie } });

    // Assess
    expect(foreign.status).toBe(403);
    expect(form.status).toBe(415);
    expect(preflight.status).toBe(405);
    expect(started).toEqual([]);
  });

  it('answers a bad spec with its problems and a good one with the execution started', async () => {
    // Act
    const bad = await call(server, '/api/deployments', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: server.origin },
      body: JSON.stringify({ spec: '{}' }),
    });
    const good = await call(server, '/api/deployments', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: server.origin },
      body: JSON.stringify({ spec: '{"name":"sample"}' }),
    });

    // Assess
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ problems: ['spec.json: name: is required'] });
    expect(good.status).toBe(202);
    expect(JSON.parse(good.body).execution).toBe('create-sample-20261124T010203Z');
  });

  it('shows a state with its failure as history prints it, secrets hidden', async () => {
    // Act
    const answer = await call(server, `/api/executions/${record.execution}/states/Check%20installs`, {
      headers: { cookie },
    });

    // Assess
    expect(answer.status).toBe(200);
    const state = JSON.parse(answer.body);
    expect(state.status).toBe('failed');
    expect(state.failure.join('\n')).toContain('resource: node cass002 (capi-cassandra-install)');
    expect(state.failure.join('\n')).toContain('AWS code: CommandFailed');
    expect(answer.body).not.toContain('abc-secret-123');
  });

  it('streams the execution view as server-sent events', async () => {
    // Act
    const events = await readEvents(server, `/api/events?execution=${record.execution}`, cookie, (text) =>
      text.includes('event: execution'),
    );

    // Assess
    expect(events.status).toBe(200);
    expect(events.type).toContain('text/event-stream');
    const data = /event: execution\ndata: (.+)\n/.exec(events.text)?.[1];
    const view = JSON.parse(data ?? '{}');
    expect(view.status).toBe('FAILED');
    expect(view.blamed).toBe('Check installs');
    expect(view.states['Check installs']).toBe('failed');
  });

  it('lays out the state machine with every state of its ASL', async () => {
    // Act
    const answer = await call(server, '/api/graph/create-deployment', { headers: { cookie } });

    // Assess
    const graph = JSON.parse(answer.body);
    expect(answer.status).toBe(200);
    expect(graph.nodes.length).toBeGreaterThan(50);
    expect(graph.nodes.some((node: { container: boolean }) => node.container)).toBe(true);
  });
});
