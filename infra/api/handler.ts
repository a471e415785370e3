import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import {
  addCustomer,
  CustomerRegistryProblem,
  listCustomers,
  removeCustomer,
} from '../../src/core/customer-registry.js';
import {
  DeploymentConflict,
  DeploymentNotFound,
  describeDeployment,
  listDeployments,
  type Machines,
  type Submitted,
  submitCreate,
  submitDelete,
} from '../../src/core/lifecycle.js';
import { parseSpecJson } from '../../src/core/spec/json-text.js';
import { checkSpec } from '../../src/core/spec/schema.js';

/**
 * The deployments API behind API Gateway (Lambda proxy integration, IAM-authorized):
 * `POST /deployments`, `GET /deployments`, `GET /deployments/{name}`, `DELETE /deployments/{name}`, and for
 * administrators the customers registry of SaaS mode: `GET /customers`, `PUT /customers/{name}` (body
 * `{ "roleArn", "externalId" }`), `DELETE /customers/{name}`. No answer and no log line holds an external id.
 * Every answer is JSON; errors are `{ "message": ... }` with the problems of a bad spec listed in `problems`.
 */

/** Read once at cold start: the stack sets both, so a missing one fails the first call loudly. */
const env = z
  .object({
    CREATE_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
    DELETE_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  })
  .parse(process.env);

const machines: Machines = {
  createArn: env.CREATE_STATE_MACHINE_ARN,
  deleteArn: env.DELETE_STATE_MACHINE_ARN,
};
const sfn = new SFNClient({});
/** The customers registry: this account, this function's region (the stack's). */
const ssm = new SSMClient({});

/** The fields of an API Gateway proxy event this handler reads. */
interface ProxyEvent {
  resource: string;
  httpMethod: string;
  body: string | null;
  isBase64Encoded?: boolean;
  pathParameters: Record<string, string | undefined> | null;
  requestContext?: { requestId?: string };
}

interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A request the API refuses before calling Step Functions (400). */
class BadRequest extends Error {
  override readonly name = 'BadRequest';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

const DEPLOYMENT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const json = (statusCode: number, body: unknown): ProxyResult => ({
  statusCode,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

const submitted = (result: Submitted) =>
  json(result.outcome === 'done' ? 200 : 202, {
    outcome: result.outcome,
    message: result.message,
    execution: result.execution,
  });

function deploymentName(event: ProxyEvent): string {
  const name = event.pathParameters?.name ?? '';
  if (!DEPLOYMENT_NAME.test(name) || name.length > 24) {
    throw new BadRequest(`"${name}" is not a deployment name (lowercase letters, digits and hyphens, ≤ 24)`);
  }
  return name;
}

function specOf(event: ProxyEvent) {
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body;
  // The same reading as the CLI's: a leading BOM is dropped, a key given twice is refused.
  const parsed = parseSpecJson(text ?? '');
  if (parsed.problems.length > 0) {
    throw new BadRequest(
      'the body must be a deployment spec in JSON',
      parsed.problems.map((problem) => `${problem.field}: ${problem.message}`),
    );
  }
  const checked = checkSpec(parsed.value);
  if (!checked.spec) {
    throw new BadRequest(
      'the deployment spec is invalid',
      checked.problems.map((problem) => `${problem.field}: ${problem.message}`),
    );
  }
  return checked.spec;
}

function bodyText(event: ProxyEvent): string {
  return (
    (event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body) ?? ''
  );
}

/** The body of `PUT /customers/{name}`: `{ "roleArn": "...", "externalId": "..." }`, nothing else. */
function customerOf(event: ProxyEvent): { roleArn: string; externalId: string } {
  let body: unknown;
  try {
    body = JSON.parse(bodyText(event));
  } catch {
    throw new BadRequest('the body must be JSON: { "roleArn": "...", "externalId": "..." }');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest('the body must be a JSON object: { "roleArn": "...", "externalId": "..." }');
  }
  const { roleArn, externalId, ...rest } = body as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) => `${key}: unknown field`);
  if (typeof roleArn !== 'string') problems.push('roleArn: must be a string');
  if (typeof externalId !== 'string') problems.push('externalId: must be a string');
  if (problems.length > 0) throw new BadRequest('the customer is invalid', problems);
  return { roleArn: roleArn as string, externalId: externalId as string };
}

/** Runs a registry call; a failure's message must not carry the external id into the logs. */
async function registry<T>(call: () => Promise<T>, externalId?: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CustomerRegistryProblem) {
      if (error.kind === 'bad-input')
        throw new BadRequest('the customer is invalid', error.message.split('; '));
      return Promise.reject(error);
    }
    if (!externalId) throw error;
    const safe = new Error(
      String((error as Error).message)
        .split(externalId)
        .join('<external id>'),
    );
    safe.name = (error as Error).name;
    throw safe;
  }
}

async function route(event: ProxyEvent): Promise<ProxyResult> {
  const key = `${event.httpMethod} ${event.resource}`;
  switch (key) {
    case 'POST /deployments':
      return submitted(await submitCreate(sfn, machines, specOf(event)));
    case 'GET /deployments':
      return json(200, { deployments: await listDeployments(sfn, machines) });
    case 'GET /deployments/{name}':
      return json(200, await describeDeployment(sfn, machines, deploymentName(event)));
    case 'DELETE /deployments/{name}':
      return submitted(await submitDelete(sfn, machines, deploymentName(event)));
    case 'GET /customers':
      return json(200, { customers: await registry(() => listCustomers(ssm)) });
    case 'PUT /customers/{name}': {
      const name = event.pathParameters?.name ?? '';
      const pair = customerOf(event);
      const { replaced } = await registry(
        () => addCustomer(ssm, name, pair, { replace: true }),
        pair.externalId,
      );
      // Never the external id back: the name and role only.
      return json(replaced ? 200 : 201, { customer: { name, roleArn: pair.roleArn }, replaced });
    }
    case 'DELETE /customers/{name}': {
      const name = event.pathParameters?.name ?? '';
      await registry(() => removeCustomer(ssm, name));
      return json(200, { message: `customer ${name} removed` });
    }
    default:
      return json(404, { message: `no route ${key}` });
  }
}

/** API Gateway proxy handler: routes, and turns every error into a JSON answer with a clear message. */
export async function handler(event: ProxyEvent): Promise<ProxyResult> {
  try {
    return await route(event);
  } catch (error) {
    if (error instanceof BadRequest) {
      return json(400, {
        message: error.message,
        ...(error.problems.length ? { problems: error.problems } : {}),
      });
    }
    if (error instanceof DeploymentNotFound) return json(404, { message: error.message });
    if (error instanceof DeploymentConflict) return json(409, { message: error.message });
    if (error instanceof CustomerRegistryProblem) {
      return json(error.kind === 'not-found' ? 404 : 409, { message: error.message });
    }
    const requestId = event.requestContext?.requestId ?? 'unknown';
    console.error(JSON.stringify({ message: 'request failed', requestId, error: String(error) }));
    const throttled = ['ThrottlingException', 'ThrottledException'].includes((error as Error).name);
    return json(throttled ? 429 : 500, {
      message: throttled
        ? 'AWS is throttling requests; retry in a few seconds'
        : `internal error (request ${requestId}); see the DeploymentsApi function's logs`,
    });
  }
}
