/**
 * Named handler errors. Each class name is the `Error` string that Step Functions sees, and the ASL
 * `Retry`/`Catch` blocks match on it (a test checks every `ErrorEquals` against {@link ERROR_NAMES}).
 * The message is the JSON failure cause `{ resource, id, awsError, message, hint }`, so the console's
 * step details are readable without the CLI.
 */

/** The structured cause every failure carries. */
export interface FailureCause {
  /** What failed, in words an operator knows: "NAT gateway sample_natgw", "instance sample-cass002". */
  resource: string;
  /** The AWS id of the resource, when it has one yet. */
  id?: string | null;
  /** The AWS error code behind the failure, when AWS returned one. */
  awsError?: string | null;
  message: string;
  /** What the operator should do next. */
  hint: string;
  /** Extra facts for a specific failure class (command id, exit code, stderr tail, nodes). */
  details?: Record<string, unknown>;
}

abstract class DeploymentError extends Error {
  readonly failure: FailureCause;
  constructor(failure: FailureCause, options?: ErrorOptions) {
    super(JSON.stringify(failure), options);
    this.failure = failure;
  }
}

/** AWS throttled us beyond what the SDK's own retries absorbed. Retryable with backoff. */
class Throttled extends DeploymentError {
  override readonly name = 'Throttled';
}

/** AWS answered with a server-side error (5xx) beyond the SDK's own retries. Retryable with backoff. */
class ServiceUnavailable extends DeploymentError {
  override readonly name = 'ServiceUnavailable';
}

/** A delete was refused because something still depends on the resource. Retryable with backoff. */
class DependencyViolation extends DeploymentError {
  override readonly name = 'DependencyViolation';
}

/** A brand-new instance profile is not yet visible to EC2 (IAM eventual consistency). Retryable. */
class InstanceProfileNotReady extends DeploymentError {
  override readonly name = 'InstanceProfileNotReady';
}

/** EC2 has no capacity for the instance type in the zone right now. Retryable a few times. */
class InsufficientCapacity extends DeploymentError {
  override readonly name = 'InsufficientCapacity';
}

/** The deployment spec (or a handler input) is invalid. Terminal. */
class InvalidSpec extends DeploymentError {
  override readonly name = 'InvalidSpec';
}

/** A preflight check (AMI, instance type offering, quota, release URL) failed. Terminal; nothing was created. */
class PreflightFailed extends DeploymentError {
  override readonly name = 'PreflightFailed';
}

/** An existing resource conflicts with what the deployment needs (other VPC, wrong CIDR). Terminal. */
class ResourceConflict extends DeploymentError {
  override readonly name = 'ResourceConflict';
}

/** AWS refused or failed to create or change a resource, or it reached a failed state. Terminal. */
class ProvisioningFailed extends DeploymentError {
  override readonly name = 'ProvisioningFailed';
}

/** A wait ran out of time: the resource never reached its target state. Terminal. */
class WaitTimedOut extends DeploymentError {
  override readonly name = 'WaitTimedOut';
}

/** An SSM command failed, timed out or was cancelled on at least one node. Terminal. */
class CommandFailed extends DeploymentError {
  override readonly name = 'CommandFailed';
}

/**
 * An SSM command never reached a terminal status on a node within its bound (delivery timeout + the document's
 * execution timeout + a margin, counted in poll rounds). Terminal; the cause names the node, instance, document and
 * the last status seen.
 */
class CommandTimedOut extends DeploymentError {
  override readonly name = 'CommandTimedOut';
}

/** A health check of the finished cluster failed. Terminal. */
class HealthCheckFailed extends DeploymentError {
  override readonly name = 'HealthCheckFailed';
}

/** Assuming the customer's role failed (wrong external id, missing trust). Terminal. */
class AccessDenied extends DeploymentError {
  override readonly name = 'AccessDenied';
}

/**
 * The spec names a customer the registry does not hold (or holds an unreadable entry for). Terminal: preflight is the
 * first step that resolves the customer, so nothing was created.
 */
class UnknownCustomer extends DeploymentError {
  override readonly name = 'UnknownCustomer';
}

/** Resources are still tagged for the deployment after a delete. Terminal. */
class ResourcesLeft extends DeploymentError {
  override readonly name = 'ResourcesLeft';
}

/**
 * A teardown step failed (its error was caught so the teardown could go on) although the final inventory found
 * nothing left. Terminal; the cause names each step's resource and AWS error code.
 */
class TeardownStepsFailed extends DeploymentError {
  override readonly name = 'TeardownStepsFailed';
}

const ERROR_CLASSES = {
  Throttled,
  ServiceUnavailable,
  DependencyViolation,
  InstanceProfileNotReady,
  InsufficientCapacity,
  InvalidSpec,
  PreflightFailed,
  ResourceConflict,
  ProvisioningFailed,
  WaitTimedOut,
  CommandFailed,
  CommandTimedOut,
  HealthCheckFailed,
  AccessDenied,
  UnknownCustomer,
  ResourcesLeft,
  TeardownStepsFailed,
} as const;

type ErrorName = keyof typeof ERROR_CLASSES;

/** Every error name a handler can throw; ASL `ErrorEquals` may use only these, `States.*` and `Lambda.*`. */
const ERROR_NAMES = Object.keys(ERROR_CLASSES) as ErrorName[];

/** Parses a Step Functions `Cause` string back into a {@link FailureCause}, when it is one. */
function parseCause(cause: unknown): FailureCause | null {
  if (typeof cause !== 'string') return null;
  try {
    const parsed = JSON.parse(cause) as Partial<FailureCause> & { errorMessage?: string };
    // A real Lambda wraps the message: {"errorType":..., "errorMessage": "<our JSON>", "trace": [...]}
    if (typeof parsed.errorMessage === 'string') return parseCause(parsed.errorMessage);
    return typeof parsed.resource === 'string' && typeof parsed.message === 'string'
      ? (parsed as FailureCause)
      : null;
  } catch {
    return null;
  }
}

export type { ErrorName };
export {
  AccessDenied,
  CommandFailed,
  CommandTimedOut,
  DependencyViolation,
  DeploymentError,
  ERROR_CLASSES,
  ERROR_NAMES,
  HealthCheckFailed,
  InstanceProfileNotReady,
  InsufficientCapacity,
  InvalidSpec,
  PreflightFailed,
  ProvisioningFailed,
  parseCause,
  ResourceConflict,
  ResourcesLeft,
  ServiceUnavailable,
  TeardownStepsFailed,
  Throttled,
  UnknownCustomer,
  WaitTimedOut,
};
