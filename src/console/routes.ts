import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toHourlyCost } from '../cost/estimate.js';
import { renderHtmlReport } from '../report/html.js';
import { loadMachineShape } from '../report/machine.js';
import { type ConsoleBackend, ConsoleRefusal } from './backend.js';
import { machineGraph } from './graph.js';
import type { EventHub } from './sse.js';
import { executionView, stateView } from './status.js';

/**
 * The console's routes: the page and its assets, a JSON API (one route per CLI operation) and the event stream.
 * Every handler answers through {@link Reply}; the server has already checked the token, the host and the origin.
 */

/** The page's own files (no CDN: the console works offline). Read once; nothing else is served from disk. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/assets/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};
const assetText = new Map(
  Object.entries(ASSETS).map(([path, { file }]) => [
    path,
    readFileSync(new URL(`./assets/${file}`, import.meta.url)),
  ]),
);

/** The timeline is the HTML report's page in a sandboxed frame: its own CSP (inline style, its one hashed script). */
const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  params: string[];
  body(): Promise<unknown>;
  req: IncomingMessage;
  res: ServerResponse;
}

interface Reply {
  status: number;
  type?: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

type Handler = (request: Request) => Promise<Reply | null>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: Handler;
}

const json = (value: unknown, status = 200): Reply => ({
  status,
  type: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

const notFound = (what: string): Reply => json({ problems: [`${what} not found`] }, 404);

const bodyText = (value: unknown, key: string): string => {
  const field = (value as Record<string, unknown> | null)?.[key];
  return typeof field === 'string' ? field : '';
};

/** The routes of a console over `backend`; `hub` serves the event streams. */
function consoleRoutes(backend: ConsoleBackend, hub: EventHub): Route[] {
  const asset: Handler = async ({ path }) => {
    const body = assetText.get(path);
    return body ? { status: 200, type: ASSETS[path].type, body } : null;
  };
  const record = async (name: string) => {
    const found = await backend.execution(name);
    if (!found) throw new ConsoleRefusal(404, [`execution ${name} not found`]);
    return found;
  };
  return [
    { method: 'GET', pattern: /^\/$/, handler: asset },
    { method: 'GET', pattern: /^\/assets\/[\w.-]+$/, handler: asset },
    {
      method: 'GET',
      pattern: /^\/api\/info$/,
      handler: async () =>
        json({
          mode: backend.mode,
          canChange: backend.canChange,
          canStop: backend.canStop,
          where: backend.where,
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/deployments$/,
      handler: async () => json({ deployments: await backend.deployments() }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/deployments\/([a-z0-9-]+)$/,
      handler: async ({ params }) => {
        const detail = await backend.deployment(params[0]);
        return detail ? json(detail) : notFound(`deployment ${params[0]}`);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/graph\/([\w-]+)$/,
      handler: async ({ params }) => {
        const graph = machineGraph(params[0]);
        return graph ? json(graph) : notFound(`state machine ${params[0]}`);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/executions\/([\w-]+)$/,
      handler: async ({ params }) => json(executionView(await record(params[0]))),
    },
    {
      method: 'GET',
      pattern: /^\/api\/executions\/([\w-]+)\/states\/(.+)$/,
      handler: async ({ params }) => {
        const found = await record(params[0]);
        const state = decodeURIComponent(params[1]);
        const type = loadMachineShape(found.machine)?.typeOf[state];
        if (!type && !found.steps.some((step) => step.name === state)) return notFound(`state ${state}`);
        return json(stateView(found, state, type));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/executions\/([\w-]+)\/timeline$/,
      handler: async ({ params }) => {
        const found = await record(params[0]);
        const detail = await backend.deployment(found.deployment).catch(() => null);
        const cost = detail?.cost ?? null;
        const html = renderHtmlReport(found, {
          resources: cost?.items ?? [],
          hourlyCost: cost ? toHourlyCost(cost) : null,
          ...(cost ? {} : { resourcesNote: detail?.row.note ?? 'Resources not listed.' }),
        });
        return {
          status: 200,
          type: 'text/html; charset=utf-8',
          body: html,
          headers: { 'content-security-policy': REPORT_CSP },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/events$/,
      handler: async ({ query, res }) => {
        const execution = query.get('execution') ?? undefined;
        if (execution !== undefined && !/^[\w-]+$/.test(execution)) return notFound('execution');
        hub.open(res, execution);
        return null;
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/deployments$/,
      handler: async (request) => {
        const body = await request.body();
        const text = bodyText(body, 'spec');
        if (!text) return json({ problems: ['spec: paste or upload a deployment spec (JSON)'] }, 400);
        const fileName = bodyText(body, 'fileName') || 'spec.json';
        return json(await backend.create(text, fileName.replace(/[^\w.-]/g, '_')), 202);
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/deployments\/([a-z0-9-]+)\/(resume|delete)$/,
      handler: async ({ params }) =>
        json(await (params[1] === 'resume' ? backend.resume(params[0]) : backend.delete(params[0])), 202),
    },
    {
      method: 'POST',
      pattern: /^\/api\/executions\/([\w-]+)\/stop$/,
      handler: async ({ params }) => {
        await backend.stop(params[0]);
        return json({ execution: params[0], message: `${params[0]} stopped` });
      },
    },
  ];
}

export type { Reply, Request, Route };
export { consoleRoutes, json };
