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

/** Props of {@link HandlerFunction}. */
interface HandlerFunctionProps {
  /** The handler file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** The function's role; the caller owns its permissions (see `infra/permissions.ts`). */
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
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN (an operator may need the logs of a deployment after removing the stack)
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A workflow Lambda with the project's defaults: Node.js 22 on arm64, bundled locally by esbuild as ESM with the
 * AWS SDK inside (the version the tests ran against, not the runtime's), source maps on, X-Ray active, JSON
 * structured logs at INFO into its own log group with a retention period.
 */
class HandlerFunction extends NodejsFunction {
  /** The function's explicit log group. */
  readonly logGroupResource: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    super(scope, id, {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(60),
      role: props.role,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
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
    this.logGroupResource = logGroup;
    // A custom role gets no AWSLambdaBasicExecutionRole: the function may write to its own log group only.
    logGroup.grantWrite(props.role);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The project targets nodejs22.x on purpose: handlers are bundled for node22 and the local engine and tests ' +
        'run the same code on Node 20/22. nodejs22.x is a supported LTS runtime; moving every function to ' +
        'nodejs24.x is a project-wide decision, not one function at a time.',
    });
  }
}

export type { HandlerFunctionProps };
export { HandlerFunction, REPO_ROOT };
