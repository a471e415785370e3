import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The repository root: every path of the app is taken from here, never from the process cwd. */
const REPO_ROOT = join(import.meta.dirname, '..');

/**
 * ESM bundles may import packages that still `require()` Node built-ins; this gives them a `require`.
 * The name is unusual so it cannot clash with a bundled module's own top-level identifiers.
 */
const REQUIRE_SHIM =
  "import { createRequire as __capiCreateRequire } from 'node:module'; const require = __capiCreateRequire(import.meta.url);";

/** Everything about a workflow Lambda but its code: runtime, architecture, role, logs, environment, limits. */
type FunctionSettings = Omit<lambda.FunctionProps, 'code' | 'handler'>;

/**
 * Makes the Lambda of a handler file (relative to the repository root, exporting `handler`) with the given settings
 * at `scope`/`id`. A factory chooses the code and nothing else, so every factory gives the same template but for
 * the code asset; the function's handler must be `index.handler`.
 */
type FunctionFactory = (
  scope: Construct,
  id: string,
  entry: string,
  settings: FunctionSettings,
) => lambda.Function;

/**
 * The factory of the app: bundled locally by esbuild as ESM with the AWS SDK inside (the version the tests ran
 * against, not the runtime's), minified, with source maps.
 */
const bundledFunction: FunctionFactory = (scope, id, entry, settings) =>
  new NodejsFunction(scope, id, {
    ...settings,
    entry: join(REPO_ROOT, entry),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      bundleAwsSDK: true,
      minify: true,
      sourceMap: true,
      banner: REQUIRE_SHIM,
      logLevel: LogLevel.WARNING,
    },
  });

/**
 * A factory for tests of the template: the same function with a one-line inline handler instead of an esbuild
 * bundle (synth in milliseconds). Like {@link bundledFunction} it refuses a handler file that does not exist.
 */
const stubFunction: FunctionFactory = (scope, id, entry, settings) => {
  if (!existsSync(join(REPO_ROOT, entry))) throw new Error(`${id}: the handler file ${entry} does not exist`);
  return new lambda.Function(scope, id, {
    ...settings,
    handler: 'index.handler',
    code: lambda.Code.fromInline(`exports.handler = async () => { throw new Error('stub of ${entry}'); };`),
  });
};

/** Props of {@link handlerFunction}. */
interface HandlerFunctionProps {
  /** The handler file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** The function's role; the caller owns its permissions (see `src/core/permissions.ts`). */
  readonly role: iam.IRole;
  /**
   * How long one invocation may run.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Memory of the function, in MiB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Extra environment variables.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Level of the handlers' Powertools Logger (`POWERTOOLS_LOG_LEVEL`) and of Lambda's application log filter.
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN (an operator may need the logs of a deployment after removing the stack)
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Makes the function from its settings.
   * @default bundledFunction
   */
  readonly functionFactory?: FunctionFactory;
}

/**
 * A workflow Lambda with the project's defaults: Node.js 22 on arm64, source maps on, X-Ray active, JSON structured
 * logs at INFO into its own log group (`<id>Logs`, its `logGroup`) with a retention period, and a role that may
 * write there only. The code comes from `props.functionFactory` (an esbuild bundle by default).
 */
function handlerFunction(scope: Construct, id: string, props: HandlerFunctionProps): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  const fn = (props.functionFactory ?? bundledFunction)(scope, id, props.entry, {
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout ?? Duration.seconds(60),
    role: props.role,
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel[props.logLevel ?? 'INFO'],
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      // Powertools (functions/shared/observability.ts): the Logger's level, the service and the EMF namespace.
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      POWERTOOLS_SERVICE_NAME: 'capideploy',
      POWERTOOLS_METRICS_NAMESPACE: 'CapiDeploy',
      ...props.environment,
    },
  });
  // A custom role gets no AWSLambdaBasicExecutionRole: the function may write to its own log group only.
  logGroup.grantWrite(props.role);
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'The project targets nodejs22.x on purpose: handlers are bundled for node22 and the local engine and tests ' +
      'run the same code on Node 20/22. nodejs22.x is a supported LTS runtime; moving every function to ' +
      'nodejs24.x is a project-wide decision, not one function at a time.',
  });
  return fn;
}

export type { FunctionFactory, FunctionSettings, HandlerFunctionProps };
export { bundledFunction, handlerFunction, REPO_ROOT, stubFunction };
