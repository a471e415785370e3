import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Day2Operation } from '../src/core/lifecycle.js';
import { type FunctionFactory, handlerFunction } from './handler-function.js';
import { deploymentSpecModelSchema } from './spec-model.js';

/** Props of {@link DeploymentsApi}. */
interface DeploymentsApiProps {
  /** The role of the API function (its permissions come from `src/core/permissions.ts`). */
  readonly role: iam.Role;
  readonly createStateMachine: sfn.IStateMachine;
  readonly deleteStateMachine: sfn.IStateMachine;
  /**
   * The day-2 state machines (stop, start, images create, images delete): the API starts, lists and describes their
   * executions (the role's permissions on them come from `src/core/permissions.ts`, like create's and delete's).
   * @default - none: the day-2 routes answer from ARNs named after the create machine
   */
  readonly day2StateMachines?: Readonly<Record<Day2Operation, sfn.IStateMachine>>;
  /**
   * Retention of the function and access log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Requests per second across the stage, and the burst above it (stage throttling).
   * @default { rate: 5, burst: 10 }
   */
  readonly throttling?: { rate: number; burst: number };
  /**
   * Whether CDK makes the API Gateway CloudWatch role of the account and region and sets it in the account settings
   * (`AWS::ApiGateway::Account`). That setting is one per account and region, shared by every REST API there, so
   * turning this on replaces whatever role another stack or team set. Off, the stage's execution and access logs use
   * the role already set in the account settings (infra/README.md, "API logs and the account's CloudWatch role").
   * @default the CDK context `apiCloudWatchRole` (`-c apiCloudWatchRole=true`), else false
   */
  readonly cloudWatchRole?: boolean;
  /**
   * Makes the API function from its handler file.
   * @default bundledFunction: an esbuild bundle
   */
  readonly functionFactory?: FunctionFactory;
}

/** A gateway-level error as JSON: the same `{ "message": ... }` shape the function answers with. */
const JSON_ERROR = { 'application/json': '{"message": $context.error.messageString}' };

/**
 * `$context.error.validationErrorString` as the contents of a JSON string. The validation string echoes parts of the
 * caller's body (a value not in an enum, a string not matching a pattern), so it can hold any character.
 * `$util.escapeJavaScript` escapes `"`, `\`, `/` and control characters as JSON does, but also turns `'` into `\'`,
 * which JSON does not allow; the `replaceAll` (a Java regex: backslash then quote) puts the bare quote back. A
 * backslash in the input is escaped to `\\` first, so the only backslash directly before a quote is the one
 * escapeJavaScript added: the replacement cannot eat half of an escaped backslash. Velocity string literals keep
 * backslashes as written, so `"\\'"` reaches Java as the regex `\\'`. test/infra/api.test.ts checks this logic on
 * hostile strings with a model of escapeJavaScript (no VTL engine runs offline). Caveat: AWS documents gateway
 * response templates as "simple variable substitution", not full VTL; this relies on `$util` being evaluated there,
 * which only a deployed API confirms (`POST /deployments` with `{"name": "it's"}` must answer parseable JSON).
 */
const VALIDATION_ERROR_JSON = String.raw`$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\'","'")`;

/**
 * A body the model refuses: the same `{ "message", "problems" }` shape as the function's 400. API Gateway reports
 * every finding of the model check in one string, so `problems` has that one entry; a body that passes the model
 * reaches the function, whose zod check names one problem per field.
 */
const BAD_REQUEST_BODY = {
  'application/json': `{"message": "the body is not a valid deployment spec", "problems": ["${VALIDATION_ERROR_JSON}"]}`,
};

const DAY2_ENV: Record<Day2Operation, string> = {
  stop: 'STOP_STATE_MACHINE_ARN',
  start: 'START_STATE_MACHINE_ARN',
  'images-create': 'IMAGES_CREATE_STATE_MACHINE_ARN',
  'images-delete': 'IMAGES_DELETE_STATE_MACHINE_ARN',
};

const day2Environment = (machines: Readonly<Record<Day2Operation, sfn.IStateMachine>>) =>
  Object.fromEntries(
    Object.entries(DAY2_ENV).map(([operation, key]) => [
      key,
      machines[operation as Day2Operation].stateMachineArn,
    ]),
  );

/** `true`/`false` as a boolean, or as the string `-c key=value` gives; anything else is a mistake to report. */
function booleanContext(scope: Construct, key: string): boolean {
  const value = scope.node.tryGetContext(key);
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new Error(`context ${key} must be true or false, not ${JSON.stringify(value)}`);
}

/**
 * The deployments REST API: IAM (SigV4) authorization on every method, the spec validated against a model generated
 * from the zod schema before the function runs, throttling on the stage, access logs, and JSON errors everywhere.
 * One small Lambda (`infra/api/handler.ts`) answers all four methods with Step Functions calls: a Standard
 * execution cannot be started through the EXPRESS-only StepFunctionsIntegration.
 *
 * - `POST /deployments` (spec) -> 202 started/running, 200 already done, 400, 409
 * - `GET /deployments` -> 200 `{ deployments: [...] }`
 * - `GET /deployments/{name}` -> 200 state, current step, failure; 404
 * - `DELETE /deployments/{name}` -> 202 started/running, 200 already deleted, 404, 409; `?withImages=true`: the images
 *   first (202 with `operation: "images-delete"`; call again once it ended), then the deployment
 * - `POST /deployments/{name}/stop` (`{ "force": true }` optional), `POST /deployments/{name}/start`,
 *   `POST /deployments/{name}/images` (`{ "force": true }` optional), `DELETE /deployments/{name}/images`
 *   -> 202 started/running, 200 already done, 400 (stop or images create without force would lose data), 404, 409
 * - `GET /deployments/{name}/images` -> 200 the latest images create/delete and the number of images; 404
 * - administrators (SaaS mode): `GET /customers` -> 200 `{ customers: [{ name, roleArn }] }`;
 *   `PUT /customers/{name}` (`{ roleArn, externalId }`) -> 201 registered, 200 replaced, 400;
 *   `DELETE /customers/{name}` -> 200, 404. The external id is never answered.
 */
class DeploymentsApi extends Construct {
  readonly restApi: apigw.RestApi;
  readonly handler: lambda.Function;

  constructor(scope: Construct, id: string, props: DeploymentsApiProps) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const throttling = props.throttling ?? { rate: 5, burst: 10 };
    const cloudWatchRole = props.cloudWatchRole ?? booleanContext(this, 'apiCloudWatchRole');

    this.handler = handlerFunction(this, 'Function', {
      entry: 'infra/api/handler.ts',
      role: props.role,
      timeout: Duration.seconds(25),
      logRetention: retention,
      environment: {
        CREATE_STATE_MACHINE_ARN: props.createStateMachine.stateMachineArn,
        DELETE_STATE_MACHINE_ARN: props.deleteStateMachine.stateMachineArn,
        ...(props.day2StateMachines ? day2Environment(props.day2StateMachines) : {}),
      },
      functionFactory: props.functionFactory,
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.restApi = new apigw.RestApi(this, 'RestApi', {
      restApiName: `${Stack.of(this).stackName}-deployments`,
      description: 'Create, list, inspect and delete Capillaries deployments (Step Functions executions)',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Opt-in: the account-level role is shared by every REST API of the region (see the prop).
      cloudWatchRole,
      ...(cloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: throttling.rate,
        throttlingBurstLimit: throttling.burst,
        loggingLevel: apigw.MethodLoggingLevel.INFO,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
    });

    for (const type of [apigw.ResponseType.DEFAULT_4XX, apigw.ResponseType.DEFAULT_5XX]) {
      this.restApi.addGatewayResponse(type.responseType, { type, templates: JSON_ERROR });
    }
    this.restApi.addGatewayResponse('BadRequestBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: BAD_REQUEST_BODY,
    });

    const specModel = this.restApi.addModel('DeploymentSpec', {
      modelName: 'DeploymentSpec',
      contentType: 'application/json',
      description: 'A Capillaries deployment spec (generated from the zod schema in src/core/spec/schema.ts)',
      schema: deploymentSpecModelSchema(),
    });
    const bodyValidator = this.restApi.addRequestValidator('SpecValidator', {
      requestValidatorName: 'deployment-spec',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const pathValidator = this.restApi.addRequestValidator('PathValidator', {
      requestValidatorName: 'path-parameters',
      validateRequestBody: false,
      validateRequestParameters: true,
    });

    const integration = new apigw.LambdaIntegration(this.handler, { proxy: true });
    const deployments = this.restApi.root.addResource('deployments');
    deployments.addMethod('POST', integration, {
      operationName: 'CreateDeployment',
      requestModels: { 'application/json': specModel },
      requestValidator: bodyValidator,
    });
    deployments.addMethod('GET', integration, { operationName: 'ListDeployments' });
    const deployment = deployments.addResource('{name}');
    const byName = {
      requestParameters: { 'method.request.path.name': true },
      requestValidator: pathValidator,
    };
    deployment.addMethod('GET', integration, { operationName: 'DescribeDeployment', ...byName });
    deployment.addMethod('DELETE', integration, {
      operationName: 'DeleteDeployment',
      requestParameters: { ...byName.requestParameters, 'method.request.querystring.withImages': false },
      requestValidator: pathValidator,
    });
    // Day-2 operations; stop and images create take an optional `{ "force": true }` the function checks.
    deployment
      .addResource('stop')
      .addMethod('POST', integration, { operationName: 'StopDeployment', ...byName });
    deployment
      .addResource('start')
      .addMethod('POST', integration, { operationName: 'StartDeployment', ...byName });
    const images = deployment.addResource('images');
    images.addMethod('POST', integration, { operationName: 'CreateImages', ...byName });
    images.addMethod('GET', integration, { operationName: 'DescribeImages', ...byName });
    images.addMethod('DELETE', integration, { operationName: 'DeleteImages', ...byName });

    // The customers registry (SaaS mode), for administrators: its own resource path, so an IAM policy can grant
    // execute-api:Invoke on `<api>/v1/*/customers*` to administrators and only `<api>/v1/*/deployments*` to
    // operators. Bodies are never logged (dataTraceEnabled false): the external id of a PUT stays out of the logs.
    const customers = this.restApi.root.addResource('customers');
    customers.addMethod('GET', integration, { operationName: 'ListCustomers' });
    const customer = customers.addResource('{name}');
    customer.addMethod('PUT', integration, { operationName: 'PutCustomer', ...byName });
    customer.addMethod('DELETE', integration, { operationName: 'DeleteCustomer', ...byName });

    Validations.of(this.restApi).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Every method requires a SigV4 signature from an IAM principal of the account and the stage is throttled; ' +
          'a WAF web ACL would add cost without filtering anything an unsigned caller can reach.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'The callers are operators and CI jobs with AWS credentials, so the methods use IAM authorization ' +
          '(AWS_IAM), not a Cognito user pool.',
      },
    );
    if (cloudWatchRole) {
      Validations.of(this.restApi).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level CloudWatch role (apiCloudWatchRole=true) needs exactly this AWS managed " +
          'policy to write the execution and access logs of the stage.',
      });
    }
  }
}

export type { DeploymentsApiProps };
export { BAD_REQUEST_BODY, DeploymentsApi, VALIDATION_ERROR_JSON };
