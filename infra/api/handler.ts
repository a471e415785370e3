import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import {
  addCustomer,
  CustomerRegistryProblem,
  listCustomers,
  removeCustomer,
} from '../../src/core/customer-registry.js';
import { OperationRefused, submitDay2, submitDeleteWithImages } from '../../src/core/day2-lifecycle.js';
import {
  DeploymentConflict,
  DeploymentNotFound,
  day2Executions,
  describeDeployment,
  latestCreate,
  listDeployments,
  type Machines,
  SpecChangeRefused,
  type Submitted,
  submitCreate,
  submitDelete,
  summaryOf,
} from '../../src/core/lifecycle.js';
import { parseSpecJson } from '../../src/core/spec/json-text.js';
import { checkSpec } from '../../src/core/spec/schema.js';

/**
 * The deployments API behind API Gateway (Lambda proxy integration, IAM-authorized):
 * `POST /deployments`, `GET /deployments`, `GET /deployments/{name}`, `DELETE /deployments/{name}` (with
 * `?withImages=true`: the images first, then the deployment), the day-2 operations `POST /deployments/{name}/stop`
 * (body `{ "force": true }` optional), `POST /deployments/{name}/start`, `POST /deployments/{name}/images` (body
 * `{ "force": true }` optional), `GET /deployments/{name}/images`, `DELETE /deployments/{name}/images`, and for
 * administrators the customers registry of SaaS mode: `GET /customers`, `PUT /customers/{name}` (body
 * `{ "roleArn", "externalId" }`), `DELETE /customers/{name}`. No answer and no log line holds an external id.
 * Every answer is JSON; errors are `{ "message": ... }` with the problems of a bad spec listed in `problems`.
 */

/** Read once at cold start: the stack sets both, so a missing one fails the first call loudly. */
const env = z
  .object({
    CREATE_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
    DELETE_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
    // The day-2 machines; without them, named after the create machine as the stack names them.
    STOP_STATE_MACHINE_ARN: z.string().startsWith('arn:').optional(),
    START_STATE_MACHINE_ARN: z.string().startsWith('arn:').optional(),
    IMAGES_CREATE_STATE_MACHINE_ARN: z.string().startsWith('arn:').optional(),
    IMAGES_DELETE_STATE_MACHINE_ARN: z.string().startsWith('arn:').optional(),
  })
  .parse(process.env);

const machines: Machines = {
  createArn: env.CREATE_STATE_MACHINE_ARN,
  deleteArn: env.DELETE_STATE_MACHINE_ARN,
  day2: {
    stop: env.STOP_STATE_MACHINE_ARN,
    start: env.START_STATE_MACHINE_ARN,
    'images-create': env.IMAGES_CREATE_STATE_MACHINE_ARN,
    'images-delete': env.IMAGES_DELETE_STATE_MACHINE_ARN,
  },
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
  queryStringParameters?: Record<string, string | undefined> | null;
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

/** A submit's answer; day-2 operations also name the operation (and the loss `force` accepted). */
const submitted = (result: Submitted & { operation?: string; warning?: string }) =>
  json(result.outcome === 'done' ? 200 : 202, {
    outcome: result.outcome,
    message: result.message,
    execution: result.execution,
    ...(result.operation ? { operation: result.operation } : {}),
    ...(result.warning ? { warning: result.warning } : {}),
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

/** The optional body of stop and images create: nothing, `{}` or `{ "force": true|false }`. */
function forceOf(event: ProxyEvent, allowForce: boolean): boolean {
  const text = bodyText(event).trim();
  if (text === '') return false;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest(
      allowForce ? 'the body must be JSON: { "force": true } or nothing' : 'the body must be empty',
    );
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest(
      allowForce ? 'the body must be a JSON object: { "force": true }' : 'the body must be empty',
    );
  }
  const { force, ...rest } = body as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) => `${key}: unknown field`);
  if (force !== undefined && !allowForce) problems.push('force: only stop and images create take force');
  if (force !== undefined && typeof force !== 'boolean') problems.push('force: must be true or false');
  if (problems.length > 0) throw new BadRequest('the body is invalid', problems);
  return force === true;
}

/** `?withImages=true|false` of `DELETE /deployments/{name}`. */
function withImagesOf(event: ProxyEvent): boolean {
  const value = event.queryStringParameters?.withImages;
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new BadRequest(`withImages: must be true or false, not ${JSON.stringify(value)}`);
}

/**
 * `GET /deployments/{name}/images`: the latest images create or delete of the deployment's current create, and how
 * many images a successful images create made. The images themselves (state, size, cost): `capi-deploy images list`.
 */
async function imagesOf(deployment: string) {
  const latest = await latestCreate(sfn, machines, deployment);
  if (!latest) throw new DeploymentNotFound(`no deployment named ${deployment}: it has no create execution`);
  const last = (await day2Executions(sfn, machines, latest.item.name!)).find((each) =>
    each.operation.startsWith('images-'),
  );
  if (!last) return { deployment, operation: null, execution: null, images: null };
  let images: number | null = null;
  if (last.operation === 'images-create' && last.item.status === 'SUCCEEDED') {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: last.item.executionArn }));
    const count = (JSON.parse(described.output ?? '{}') as { images?: unknown }).images;
    images = typeof count === 'number' ? count : null;
  }
  if (last.operation === 'images-delete' && last.item.status === 'SUCCEEDED') images = 0;
  return { deployment, operation: last.operation, execution: summaryOf(last.item), images };
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
    case 'DELETE /deployments/{name}': {
      const name = deploymentName(event);
      return withImagesOf(event)
        ? submitted(await submitDeleteWithImages(sfn, machines, name))
        : submitted(await submitDelete(sfn, machines, name));
    }
    case 'POST /deployments/{name}/stop': {
      const name = deploymentName(event);
      return submitted(await submitDay2(sfn, machines, name, 'stop', { force: forceOf(event, true) }));
    }
    case 'POST /deployments/{name}/start': {
      const name = deploymentName(event);
      forceOf(event, false);
      return submitted(await submitDay2(sfn, machines, name, 'start'));
    }
    case 'POST /deployments/{name}/images': {
      const name = deploymentName(event);
      return submitted(
        await submitDay2(sfn, machines, name, 'images-create', { force: forceOf(event, true) }),
      );
    }
    case 'GET /deployments/{name}/images':
      return json(200, await imagesOf(deploymentName(event)));
    case 'DELETE /deployments/{name}/images':
      return submitted(await submitDay2(sfn, machines, deploymentName(event), 'images-delete'));
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
    if (error instanceof SpecChangeRefused) {
      return json(400, { message: 'the changed spec cannot be applied in place', problems: error.problems });
    }
    if (error instanceof OperationRefused) return json(400, { message: error.message });
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
