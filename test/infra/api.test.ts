import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BAD_REQUEST_BODY, DeploymentsApi, VALIDATION_ERROR_JSON } from '../../infra/deployments-api.js';
import { stubFunction } from '../../infra/handler-function.js';
import { readSpecFile } from '../../src/cli/spec-file.js';
import { canonicalJson, createName } from '../../src/core/lifecycle.js';

const sfnMock = mockClient(SFNClient);
const ssmMock = mockClient(SSMClient);
const PREFIX = 'arn:aws:states:us-east-1:111122223333';
const CREATE_MACHINE = `${PREFIX}:stateMachine:CapiDeploy-create-deployment`;
const DELETE_MACHINE = `${PREFIX}:stateMachine:CapiDeploy-delete-deployment`;
const spec = readSpecFile(fileURLToPath(new URL('../../examples/sample.json', import.meta.url)));

let handler: typeof import('../../infra/api/handler.js').handler;

beforeAll(async () => {
  // The handler reads its environment once, at import.
  vi.stubEnv('CREATE_STATE_MACHINE_ARN', CREATE_MACHINE);
  vi.stubEnv('DELETE_STATE_MACHINE_ARN', DELETE_MACHINE);
  ({ handler } = await import('../../infra/api/handler.js'));
});

beforeEach(() => {
  sfnMock.reset();
  ssmMock.reset();
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  vi.spyOn(console, 'error').mockImplementation(() => {});
});

const event = (httpMethod: string, resource: string, extra: Record<string, unknown> = {}) => ({
  httpMethod,
  resource,
  body: null,
  pathParameters: null,
  requestContext: { requestId: 'req-1' },
  ...extra,
});
const body = (result: { body: string }) => JSON.parse(result.body);

describe('the customers routes of the API function', () => {
  const EXTERNAL_ID = 'api-ext-3b8e1f0c-9a7d';
  const ROLE = 'arn:aws:iam::210987654321:role/capideploy-operator-acme';
  const stored = (name: string, externalId = EXTERNAL_ID) => ({
    Name: `/capideploy/customers/${name}`,
    Type: 'SecureString' as const,
    Value: JSON.stringify({ roleArn: ROLE, externalId }),
  });

  it('registers a customer as a SecureString (201) and never answers the external id', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    // Act
    const result = await handler(
      event('PUT', '/customers/{name}', {
        pathParameters: { name: 'acme' },
        body: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID }),
      }),
    );
    // Assess
    expect(result.statusCode).toBe(201);
    expect(body(result)).toEqual({ customer: { name: 'acme', roleArn: ROLE }, replaced: false });
    expect(result.body).not.toContain(EXTERNAL_ID);
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: '/capideploy/customers/acme',
      Type: 'SecureString',
      Value: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID }),
      Overwrite: false,
    });
  });

  it('replaces an existing customer (200): PUT is create-or-replace', async () => {
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [stored('acme', 'old-id-1')] });
    ssmMock.on(PutParameterCommand).resolves({ Version: 2 });
    const result = await handler(
      event('PUT', '/customers/{name}', {
        pathParameters: { name: 'acme' },
        body: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID }),
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({ replaced: true });
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Overwrite: true });
  });

  it('answers 400 naming each bad field, without writing and without echoing the external id', async () => {
    const result = await handler(
      event('PUT', '/customers/{name}', {
        pathParameters: { name: 'Not_A_Name' },
        body: JSON.stringify({ roleArn: 'role/x', externalId: 'has space!' }),
      }),
    );
    expect(result.statusCode).toBe(400);
    expect(body(result).problems).toEqual([
      expect.stringMatching(/^name: must be 1 to 24 lowercase/),
      expect.stringMatching(/^roleArn: must be an IAM role ARN/),
      expect.stringMatching(/^externalId: must be 2 to 1224 characters/),
    ]);
    expect(result.body).not.toContain('has space!');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    const unknownField = await handler(
      event('PUT', '/customers/{name}', {
        pathParameters: { name: 'acme' },
        body: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID, note: 1 }),
      }),
    );
    expect(body(unknownField).problems).toEqual(['note: unknown field']);
  });

  it('lists names and role ARNs only', async () => {
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [stored('zeta'), stored('acme')] });
    const result = await handler(event('GET', '/customers'));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({
      customers: [
        { name: 'acme', roleArn: ROLE },
        { name: 'zeta', roleArn: ROLE },
      ],
    });
    expect(result.body).not.toContain(EXTERNAL_ID);
  });

  it('removes a customer (200), and answers 404 for an unknown one', async () => {
    ssmMock.on(DeleteParameterCommand, { Name: '/capideploy/customers/acme' }).resolves({});
    const gone = Object.assign(new Error('not found'), { name: 'ParameterNotFound' });
    ssmMock.on(DeleteParameterCommand, { Name: '/capideploy/customers/nobody' }).rejects(gone);
    const removed = await handler(event('DELETE', '/customers/{name}', { pathParameters: { name: 'acme' } }));
    expect(removed.statusCode).toBe(200);
    const unknown = await handler(
      event('DELETE', '/customers/{name}', { pathParameters: { name: 'nobody' } }),
    );
    expect(unknown.statusCode).toBe(404);
    expect(body(unknown).message).toMatch(/no customer named nobody/);
  });

  it('keeps the external id out of the logs when SSM fails', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssmMock
      .on(PutParameterCommand)
      .rejects(Object.assign(new Error(`Value ${EXTERNAL_ID} refused`), { name: 'InternalServerError' }));
    const result = await handler(
      event('PUT', '/customers/{name}', {
        pathParameters: { name: 'acme' },
        body: JSON.stringify({ roleArn: ROLE, externalId: EXTERNAL_ID }),
      }),
    );
    expect(result.statusCode).toBe(500);
    expect(JSON.stringify(errors.mock.calls)).not.toContain(EXTERNAL_ID);
    expect(result.body).not.toContain(EXTERNAL_ID);
  });
});

describe('the deployments API function', () => {
  it('starts a create for a valid spec (202) named after the deployment and its spec', async () => {
    // Prepare
    const name = createName(spec, 1);
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${PREFIX}:execution:x:${name}`, startDate: new Date() });
    // Act
    const result = await handler(event('POST', '/deployments', { body: JSON.stringify(spec) }));
    // Assess
    expect(result.statusCode).toBe(202);
    expect(result.headers['Content-Type']).toBe('application/json');
    expect(body(result)).toMatchObject({ outcome: 'started', execution: { name } });
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: CREATE_MACHINE,
      name,
      input: canonicalJson(spec),
    });
  });

  it('answers 400 with one problem per bad field, before calling Step Functions', async () => {
    const result = await handler(
      event('POST', '/deployments', {
        body: JSON.stringify({ ...spec, availabilityZone: 'eu-west-1a', daemons: 0 }),
      }),
    );
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({
      message: 'the deployment spec is invalid',
      problems: ['daemons: must be at least 1', 'availabilityZone: must be a zone of region us-east-1'],
    });
    expect(sfnMock).not.toReceiveCommand(ListExecutionsCommand);
  });

  it('answers 400 naming a key given twice, and accepts a leading BOM', async () => {
    const twice = await handler(event('POST', '/deployments', { body: '{"name": "a", "name": "b"}' }));
    expect(twice.statusCode).toBe(400);
    expect(body(twice).problems).toEqual([expect.stringMatching(/^name: key given more than once/)]);
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
    const withBom = await handler(event('POST', '/deployments', { body: `\uFEFF${JSON.stringify(spec)}` }));
    expect(withBom.statusCode).toBe(202);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const result = await handler(event('POST', '/deployments', { body: '{not json' }));
    expect(result.statusCode).toBe(400);
    expect(body(result).message).toBe('the body must be a deployment spec in JSON');
  });

  it('answers 404 for a deployment without executions, and 400 for a malformed name', async () => {
    const unknown = await handler(
      event('GET', '/deployments/{name}', { pathParameters: { name: 'nothing' } }),
    );
    expect(unknown.statusCode).toBe(404);
    expect(body(unknown).message).toBe('no deployment named nothing: it has no create execution');
    const bad = await handler(
      event('DELETE', '/deployments/{name}', { pathParameters: { name: 'Bad_Name' } }),
    );
    expect(bad.statusCode).toBe(400);
  });

  it('answers 409 to a delete while the create still runs', async () => {
    const name = createName(spec, 1);
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({
      executions: [
        {
          name,
          executionArn: `${PREFIX}:execution:CapiDeploy-create-deployment:${name}`,
          stateMachineArn: CREATE_MACHINE,
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    const result = await handler(
      event('DELETE', '/deployments/{name}', { pathParameters: { name: 'sample' } }),
    );
    expect(result.statusCode).toBe(409);
    expect(body(result).message).toMatch(/^sample is being created by execution sample-/);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('lists deployments', async () => {
    const result = await handler(event('GET', '/deployments'));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ deployments: [] });
  });

  it('answers 500 with the request id, not the internal error, when Step Functions fails', async () => {
    sfnMock.on(ListExecutionsCommand).rejects(new Error('socket hang up'));
    const result = await handler(event('GET', '/deployments'));
    expect(result.statusCode).toBe(500);
    expect(body(result).message).toBe(
      "internal error (request req-1); see the DeploymentsApi function's logs",
    );
  });

  it('reports the failing step of a create that failed inside a Parallel branch', async () => {
    // Prepare: Create VPC fails for good inside the Parallel, which catches into the Fail state
    const name = createName(spec, 1);
    const arn = `${PREFIX}:execution:CapiDeploy-create-deployment:${name}`;
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({
      executions: [
        { name, executionArn: arn, stateMachineArn: CREATE_MACHINE, status: 'FAILED', startDate: new Date() },
      ],
    });
    const cause = '{"resource":"VPC sample_vpc","message":"VpcLimitExceeded","hint":"raise the quota"}';
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ executionArn: arn, name, status: 'FAILED', startDate: new Date() });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: parallelFailure(cause) });
    // Act
    const result = await handler(event('GET', '/deployments/{name}', { pathParameters: { name: 'sample' } }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({
      deployment: 'sample',
      state: 'create-failed',
      operation: 'create',
      currentStep: 'Deployment failed',
      failure: { state: 'Create VPC', error: 'ResourceConflict', cause },
    });
  });
});

/** Two branches: Create VPC fails, the other branch's Task is aborted; the Parallel's Catch goes to the Fail state. */
function parallelFailure(cause: string): HistoryEvent[] {
  const e = (
    id: number,
    previousEventId: number,
    type: string,
    extra: Partial<HistoryEvent> = {},
  ): HistoryEvent => ({
    id,
    previousEventId,
    timestamp: new Date(Date.UTC(2026, 10, 24, 10, 0, id)),
    type: type as HistoryEvent['type'],
    ...extra,
  });
  const failed = { error: 'ResourceConflict', cause };
  return [
    e(1, 0, 'ExecutionStarted'),
    e(2, 1, 'ParallelStateEntered', {
      stateEnteredEventDetails: { name: 'Create network and instance role' },
    }),
    e(3, 2, 'ParallelStateStarted'),
    e(4, 3, 'TaskStateEntered', { stateEnteredEventDetails: { name: 'Create VPC' } }),
    e(5, 3, 'TaskStateEntered', { stateEnteredEventDetails: { name: 'Create instance role and profile' } }),
    e(6, 4, 'LambdaFunctionScheduled'),
    e(7, 5, 'LambdaFunctionScheduled'),
    e(8, 6, 'LambdaFunctionStarted'),
    e(9, 8, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: failed }),
    e(10, 9, 'ParallelStateFailed', { executionFailedEventDetails: failed }),
    e(11, 7, 'TaskStateAborted'),
    e(12, 10, 'ParallelStateExited', {
      stateExitedEventDetails: { name: 'Create network and instance role' },
    }),
    e(13, 12, 'ChoiceStateEntered', { stateEnteredEventDetails: { name: 'Create failed' } }),
    e(14, 13, 'ChoiceStateExited', { stateExitedEventDetails: { name: 'Create failed' } }),
    e(15, 14, 'FailStateEntered', { stateEnteredEventDetails: { name: 'Deployment failed' } }),
    e(16, 15, 'ExecutionFailed', { executionFailedEventDetails: failed }),
  ];
}

/**
 * Commons Lang's `StringEscapeUtils.escapeJavaScript`, which `$util.escapeJavaScript` is: `'`, `"`, `\` and `/`
 * backslash-escaped, `\b \t \n \f \r` by name, other control characters and everything above U+007F as `\uXXXX`.
 */
function escapeJavaScript(text: string): string {
  const named: Record<string, string> = { '\b': 'b', '\t': 't', '\n': 'n', '\f': 'f', '\r': 'r' };
  let out = '';
  for (const ch of text.split('')) {
    const code = ch.charCodeAt(0);
    if (code > 0x7f || (code < 32 && !named[ch]))
      out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else if (code < 32) out += `\\${named[ch]}`;
    else if (`'"\\/`.includes(ch)) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/**
 * Renders the one expression the gateway-response template evaluates: escapeJavaScript, then Java's
 * `String.replaceAll(regex, replacement)` with the two literals exactly as the template writes them (Velocity keeps
 * backslashes in string literals as written).
 */
function renderBadRequestBody(validationErrorString: string): string {
  const template = BAD_REQUEST_BODY['application/json'];
  const call =
    /^\$util\.escapeJavaScript\(\$context\.error\.validationErrorString\)\.replaceAll\("(.*)","(.*)"\)$/.exec(
      VALIDATION_ERROR_JSON,
    );
  if (!call) throw new Error(`unexpected template expression ${VALIDATION_ERROR_JSON}`);
  const [, regex, replacement] = call;
  expect(replacement).not.toMatch(/[\\$]/); // a literal Java replacement: no group references, no escapes
  const value = escapeJavaScript(validationErrorString).replace(new RegExp(regex, 'g'), replacement);
  return template.split(VALIDATION_ERROR_JSON).join(value);
}

describe('the API Gateway answer to a body the model refuses', () => {
  const hostile = [
    `[instance value ("it's") not found in enum (possible values: ["keep","delete"])]`,
    `'`,
    `''`,
    `"`,
    `\\`,
    `\\'`,
    `\\\\'`,
    `'\\`,
    `\\"'\\'`,
    `ends with a backslash \\`,
    `</script><script>alert('x')</script>`,
    `tab\tnewline\nreturn\rnul\u0000bell\u0007del\u007f`,
    `line separator \u2028 paragraph \u2029 é ü 中文 😀`,
    `$context.error.message $$ {x} #set($a = 1)`,
    '',
  ];

  it.each(hostile)('is JSON with the validation string as its one problem: %j', (text) => {
    const rendered = renderBadRequestBody(text);
    expect(JSON.parse(rendered)).toEqual({
      message: 'the body is not a valid deployment spec',
      problems: [text],
    });
  });

  it('stays JSON for every string of quotes, backslashes, slashes and control characters', () => {
    const alphabet = [`'`, `"`, '\\', '/', 'a', '\n', '\u0001', 'é', '\ud83d', '\ude00'];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join('');
      expect(JSON.parse(renderBadRequestBody(text)).problems).toEqual([text]);
    }
  });

  it('would not be JSON with escapeJavaScript alone (the bug this template fixes)', () => {
    expect(() => JSON.parse(`["${escapeJavaScript("it's")}"]`)).toThrow();
  });

  it('is the template the stack deploys, word for word', () => {
    expect(BAD_REQUEST_BODY['application/json']).toBe(
      String.raw`{"message": "the body is not a valid deployment spec", "problems": ["$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\'","'")"]}`,
    );
  });
});

describe("the API's CloudWatch role (account-wide setting)", () => {
  const apiTemplate = (context: Record<string, unknown>, props: { cloudWatchRole?: boolean } = {}) => {
    const app = new App({ context });
    const stack = new Stack(app, 'Api', { env: { account: '111122223333', region: 'us-east-1' } });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const machine = (id: string, arn: string) => sfn.StateMachine.fromStateMachineArn(stack, id, arn);
    new DeploymentsApi(stack, 'DeploymentsApi', {
      role,
      createStateMachine: machine('Create', CREATE_MACHINE),
      deleteStateMachine: machine('Delete', DELETE_MACHINE),
      functionFactory: stubFunction,
      ...props,
    });
    return Template.fromStack(stack);
  };

  it('serves the customers registry on its own path, IAM-authorized, so administrators can be granted it alone', () => {
    const template = apiTemplate({});
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'customers' });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map(
      (method) =>
        method.Properties as { HttpMethod: string; AuthorizationType: string; OperationName?: string },
    );
    const customers = methods.filter((method) => method.OperationName?.includes('Customer'));
    expect(customers.map((method) => `${method.HttpMethod} ${method.OperationName}`).sort()).toEqual([
      'DELETE DeleteCustomer',
      'GET ListCustomers',
      'PUT PutCustomer',
    ]);
    expect(customers.every((method) => method.AuthorizationType === 'AWS_IAM')).toBe(true);
    // Request bodies (a PUT's external id) are never written to the execution logs.
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ DataTraceEnabled: false })]),
    });
  });

  it('is left alone by default: no AWS::ApiGateway::Account, no role', () => {
    const template = apiTemplate({});
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain(
      'AmazonAPIGatewayPushToCloudWatchLogs',
    );
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it.each([{ apiCloudWatchRole: true }, { apiCloudWatchRole: 'true' }])(
    'is set, and kept on destroy, with the context %j',
    (context) => {
      const template = apiTemplate(context);
      template.resourceCountIs('AWS::ApiGateway::Account', 1);
      template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
    },
  );

  it('follows the prop over the context', () => {
    apiTemplate({ apiCloudWatchRole: 'true' }, { cloudWatchRole: false }).resourceCountIs(
      'AWS::ApiGateway::Account',
      0,
    );
  });

  it('refuses a context value that is not true or false', () => {
    expect(() => apiTemplate({ apiCloudWatchRole: 'yes' })).toThrow(
      'context apiCloudWatchRole must be true or false, not "yes"',
    );
  });
});

describe('the day-2 routes of the API function (issue 17)', () => {
  const created = createName(spec, 1);
  const MACHINE = (machine: string) => `${PREFIX}:stateMachine:CapiDeploy-${machine}`;
  const executionOf = (machine: string, name: string) => `${PREFIX}:execution:CapiDeploy-${machine}:${name}`;
  const byName = (extra: Record<string, unknown> = {}) => ({ pathParameters: { name: 'sample' }, ...extra });
  const givenCreated = (status: 'SUCCEEDED' | 'RUNNING' = 'SUCCEEDED') => {
    const arn = executionOf('create-deployment', created);
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({
      executions: [
        { name: created, executionArn: arn, stateMachineArn: CREATE_MACHINE, status, startDate: new Date(0) },
      ],
    });
    sfnMock.on(DescribeExecutionCommand, { executionArn: arn }).resolves({
      executionArn: arn,
      name: created,
      status,
      input: canonicalJson(spec),
      startDate: new Date(0),
    });
  };
  const givenDay2 = (machine: string, name: string, status: 'RUNNING' | 'SUCCEEDED' | 'FAILED') =>
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: MACHINE(machine) }).resolves({
      executions: [
        {
          name,
          executionArn: executionOf(machine, name),
          stateMachineArn: MACHINE(machine),
          status,
          startDate: new Date(1000),
        },
      ],
    });
  const startsAs = () =>
    sfnMock.on(StartExecutionCommand).callsFake(({ stateMachineArn, name }) => ({
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
      startDate: new Date(),
    }));

  it('refuses a stop that would erase Cassandra data without { "force": true } (400), then starts it once (202)', async () => {
    // Prepare
    givenCreated();
    startsAs();
    // Act
    const refused = await handler(event('POST', '/deployments/{name}/stop', byName()));
    const forced = await handler(
      event('POST', '/deployments/{name}/stop', byName({ body: JSON.stringify({ force: true }) })),
    );
    // Assess
    expect(refused.statusCode).toBe(400);
    expect(body(refused).message).toMatch(/^stop refused: stopping sample erases its Cassandra data/);
    expect(forced.statusCode).toBe(202);
    expect(body(forced)).toMatchObject({
      outcome: 'started',
      operation: 'stop',
      execution: { name: `${created}-stop-1` },
      warning: expect.stringMatching(/^stopping sample erases/),
    });
    expect(sfnMock).toReceiveCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE('stop-deployment'),
      name: `${created}-stop-1`,
      input: canonicalJson(spec),
    });
  });

  it('answers 400 to a bad body: force not a boolean, an unknown field, force on start', async () => {
    givenCreated();
    const stop = await handler(
      event('POST', '/deployments/{name}/stop', byName({ body: JSON.stringify({ force: 'yes', now: 1 }) })),
    );
    expect(stop.statusCode).toBe(400);
    expect(body(stop).problems).toEqual(['now: unknown field', 'force: must be true or false']);
    const start = await handler(
      event('POST', '/deployments/{name}/start', byName({ body: JSON.stringify({ force: true }) })),
    );
    expect(start.statusCode).toBe(400);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('answers 202 running to a second start while the first runs, 409 to a stop then, 404 for an unknown deployment', async () => {
    givenCreated();
    givenDay2('start-deployment', `${created}-start-1`, 'RUNNING');
    const again = await handler(event('POST', '/deployments/{name}/start', byName()));
    expect(again.statusCode).toBe(202);
    expect(body(again)).toMatchObject({ outcome: 'running', execution: { name: `${created}-start-1` } });
    const stop = await handler(
      event('POST', '/deployments/{name}/stop', byName({ body: '{"force": true}' })),
    );
    expect(stop.statusCode).toBe(409);
    // Even the create already done: nothing starts on the deployment while a day-2 operation runs.
    const create = await handler(event('POST', '/deployments', { body: JSON.stringify(spec) }));
    expect(create.statusCode).toBe(409);
    const unknown = await handler(
      event('POST', '/deployments/{name}/start', { pathParameters: { name: 'nothing' } }),
    );
    expect(unknown.statusCode).toBe(404);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('creates, reports and deletes images', async () => {
    // Prepare
    givenCreated();
    startsAs();
    // Act
    const made = await handler(
      event('POST', '/deployments/{name}/images', byName({ body: '{"force": true}' })),
    );
    givenDay2('images-create', `${created}-images-create-1`, 'SUCCEEDED');
    sfnMock
      .on(DescribeExecutionCommand, {
        executionArn: executionOf('images-create', `${created}-images-create-1`),
      })
      .resolves({ output: JSON.stringify({ deployment: 'sample', images: 11 }) });
    const listedImages = await handler(event('GET', '/deployments/{name}/images', byName()));
    const deleted = await handler(event('DELETE', '/deployments/{name}/images', byName()));
    // Assess
    expect(made.statusCode).toBe(202);
    expect(body(made)).toMatchObject({
      operation: 'images-create',
      execution: { name: `${created}-images-create-1` },
    });
    expect(listedImages.statusCode).toBe(200);
    expect(body(listedImages)).toMatchObject({
      deployment: 'sample',
      operation: 'images-create',
      execution: { name: `${created}-images-create-1`, status: 'SUCCEEDED' },
      images: 11,
    });
    expect(deleted.statusCode).toBe(202);
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE('images-delete'),
      name: `${created}-images-delete-1`,
    });
  });

  it('deletes with ?withImages=true: the images first, then (called again) the deployment', async () => {
    givenCreated();
    startsAs();
    const first = await handler(
      event('DELETE', '/deployments/{name}', byName({ queryStringParameters: { withImages: 'true' } })),
    );
    expect(first.statusCode).toBe(202);
    expect(body(first)).toMatchObject({
      operation: 'images-delete',
      execution: { name: `${created}-images-delete-1` },
    });
    givenDay2('images-delete', `${created}-images-delete-1`, 'SUCCEEDED');
    const second = await handler(
      event('DELETE', '/deployments/{name}', byName({ queryStringParameters: { withImages: 'true' } })),
    );
    expect(second.statusCode).toBe(202);
    expect(body(second)).toMatchObject({ operation: 'delete', execution: { name: `${created}-delete-1` } });
    const bad = await handler(
      event('DELETE', '/deployments/{name}', byName({ queryStringParameters: { withImages: 'yes' } })),
    );
    expect(bad.statusCode).toBe(400);
    expect(body(bad).message).toBe('withImages: must be true or false, not "yes"');
  });

  it('reports the day-2 operation in progress in GET /deployments/{name}', async () => {
    givenCreated();
    givenDay2('stop-deployment', `${created}-stop-1`, 'RUNNING');
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const result = await handler(event('GET', '/deployments/{name}', byName()));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({
      state: 'created',
      day2: { operation: 'stop', execution: { name: `${created}-stop-1`, status: 'RUNNING' } },
    });
  });

  it('answers 400 with one problem per refusal to a changed spec that cannot be applied in place', async () => {
    givenCreated();
    const result = await handler(
      event('POST', '/deployments', {
        body: JSON.stringify({ ...spec, cassandraNodes: 5, flavor: 'aws.arm64.c7g.16' }),
      }),
    );
    expect(result.statusCode).toBe(400);
    expect(body(result).message).toBe('the changed spec cannot be applied in place');
    expect(body(result).problems.length).toBeGreaterThanOrEqual(2);
    expect(body(result).problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^cassandraNodes: 4 to 5 /),
        expect.stringMatching(/^flavor: /),
      ]),
    );
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });
});

describe('the day-2 routes of the REST API', () => {
  it('serves stop, start and images on /deployments/{name}, IAM-authorized, with the ARNs of the day-2 machines', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'Api', { env: { account: '111122223333', region: 'us-east-1' } });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const machine = (id: string, name: string) =>
      sfn.StateMachine.fromStateMachineArn(stack, id, `${PREFIX}:stateMachine:CapiDeploy-${name}`);
    // Act
    new DeploymentsApi(stack, 'DeploymentsApi', {
      role,
      createStateMachine: machine('Create', 'create-deployment'),
      deleteStateMachine: machine('Delete', 'delete-deployment'),
      day2StateMachines: {
        stop: machine('Stop', 'stop-deployment'),
        start: machine('Start', 'start-deployment'),
        'images-create': machine('ImagesCreate', 'images-create'),
        'images-delete': machine('ImagesDelete', 'images-delete'),
      },
      functionFactory: stubFunction,
    });
    const template = Template.fromStack(stack);
    // Assess
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map(
      (method) =>
        method.Properties as { HttpMethod: string; AuthorizationType: string; OperationName?: string },
    );
    const day2 = methods.filter((method) =>
      ['StopDeployment', 'StartDeployment', 'CreateImages', 'DescribeImages', 'DeleteImages'].includes(
        method.OperationName ?? '',
      ),
    );
    expect(day2.map((method) => `${method.HttpMethod} ${method.OperationName}`).sort()).toEqual([
      'DELETE DeleteImages',
      'GET DescribeImages',
      'POST CreateImages',
      'POST StartDeployment',
      'POST StopDeployment',
    ]);
    expect(day2.every((method) => method.AuthorizationType === 'AWS_IAM')).toBe(true);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          STOP_STATE_MACHINE_ARN: `${PREFIX}:stateMachine:CapiDeploy-stop-deployment`,
          IMAGES_DELETE_STATE_MACHINE_ARN: `${PREFIX}:stateMachine:CapiDeploy-images-delete`,
        }),
      },
    });
    // The role's statements on these machines come from the permission table (src/core/permissions.ts): the
    // operator stack's least-privilege test compares every role with it.
  });
});
