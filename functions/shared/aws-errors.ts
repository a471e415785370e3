import {
  AccessDenied,
  DependencyViolation,
  DeploymentError,
  type FailureCause,
  InstanceProfileNotReady,
  InsufficientCapacity,
  ProvisioningFailed,
  ServiceUnavailable,
  Throttled,
} from '../../src/core/errors.js';

/** Where an AWS call happened, for the failure cause. */
export interface CallSite {
  resource: string;
  id?: string | null;
  /** Overrides the hint looked up by error code. */
  hint?: string;
}

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'ThrottledException',
]);
const SERVER = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'InternalServerError',
]);

/** What to do about each AWS error code we know; the README's troubleshooting table says the same. */
export const HINTS: Readonly<Record<string, string>> = {
  RequestLimitExceeded:
    'EC2 throttled the account; the workflow retries with backoff. Run fewer deployments at once.',
  DependencyViolation:
    'Something still uses the resource; the workflow retries after the dependents are gone.',
  InsufficientInstanceCapacity:
    'AWS has no capacity for this instance type in the zone right now; retry later or choose another availabilityZone or flavor.',
  VcpuLimitExceeded:
    'The account vCPU quota is too low for this fleet; request an increase of "Running On-Demand Standard instances" (L-1216C47A) or use fewer or smaller nodes.',
  InstanceLimitExceeded:
    'The account instance limit is reached; request a quota increase or use fewer nodes.',
  AddressLimitExceeded:
    'The account has no elastic IPs left (default 5 per region); release unused ones or request more.',
  VpcLimitExceeded: 'The region has reached its VPC limit (default 5); delete unused VPCs or request more.',
  NatGatewayLimitExceeded: 'The zone has reached its NAT gateway limit; delete unused ones or request more.',
  'InvalidIPAddress.InUse':
    'The private IP is taken by another instance in the subnet; delete the stray instance.',
  'Gateway.NotAttached': 'The internet gateway is not attached to the VPC; re-run create to attach it.',
  UnauthorizedOperation:
    'The caller lacks an EC2 permission; check the operator or cross-account role policy.',
  AccessDenied: 'The caller lacks a permission; check the operator or cross-account role policy.',
  AccessDeniedException: 'The caller lacks a permission; check the operator or cross-account role policy.',
  InvalidParameterValue: 'AWS rejected a parameter; the message names it.',
  InternalError:
    'AWS had an internal error; the workflow retries. If it persists, check the AWS Health Dashboard.',
  ServiceUnavailable:
    'AWS is unavailable; the workflow retries. If it persists, check the AWS Health Dashboard.',
};

const DENIED = new Set(['AccessDenied', 'UnauthorizedOperation', 'AccessDeniedException']);
const PROFILE_NOT_READY = /Invalid IAM Instance Profile/i;

/** `User: <caller> is not authorized to perform: <action> on resource: <resource> because ...` (IAM, EC2, SSM, STS). */
const DENIAL =
  /is not authorized to perform: (\S+) on resource: (.+?)(?: because | with an explicit deny|\. Encoded|$)/;

/** For a denial AWS explains: which grant is missing and where it is written. */
function denialHint(message: string): string | undefined {
  const [, action, resource] = DENIAL.exec(message) ?? [];
  if (!action) return undefined;
  return `The role lacks ${action} on ${resource}: its grant is in src/core/permissions.ts (FUNCTION_ACTIONS and the scopes of ${action}); change it there and redeploy the stack (in cross-account mode, the customer role stack too).`;
}

/** Turns any error thrown by an AWS SDK call into one of our named errors, with a full failure cause. */
export function asDeploymentError(error: unknown, site: CallSite): DeploymentError {
  if (error instanceof DeploymentError) return error;
  const { name: code = 'Error', message = String(error) } = error as Error;
  const failure: FailureCause = {
    resource: site.resource,
    id: site.id ?? null,
    awsError: code,
    message,
    hint:
      site.hint ??
      (DENIED.has(code) ? denialHint(message) : undefined) ??
      HINTS[code] ??
      'See the AWS error code and message; fix the cause and re-run create to resume.',
  };
  const options = { cause: error };
  if (THROTTLING.has(code)) return new Throttled(failure, options);
  if (SERVER.has(code)) return new ServiceUnavailable(failure, options);
  if (code === 'DependencyViolation' || code === 'InvalidIPAddress.InUse' || code === 'VolumeInUse') {
    return new DependencyViolation(failure, options);
  }
  if (code === 'InsufficientInstanceCapacity') return new InsufficientCapacity(failure, options);
  if (code === 'InvalidParameterValue' && PROFILE_NOT_READY.test(message)) {
    return new InstanceProfileNotReady(
      {
        ...failure,
        hint: 'A new instance profile takes seconds to reach EC2; the workflow retries with backoff.',
      },
      options,
    );
  }
  if (DENIED.has(code)) {
    return new AccessDenied(failure, options);
  }
  return new ProvisioningFailed(failure, options);
}

/** Runs one AWS call, converting its failure into a named error that names the resource. */
export async function awsCall<T>(site: CallSite, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asDeploymentError(error, site);
  }
}

/** True when the error is AWS's "that id does not exist" for any resource kind. */
export function isNotFound(error: unknown): boolean {
  const name = (error as Error)?.name ?? '';
  return /NotFound$|^NoSuchEntity(Exception)?$|^ParameterNotFound$|NotFoundException$/.test(name);
}

/** Runs a delete call, treating "already gone" as done, so a re-run of a teardown converges. */
export async function deleteIfPresent(site: CallSite, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!isNotFound(error)) throw asDeploymentError(error, site);
  }
}
