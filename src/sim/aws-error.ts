/**
 * Errors in the shape the AWS SDK v3 gives handlers: `name` is the AWS error code, `$metadata.httpStatusCode`
 * and `$fault` drive the SDK's own retry classification (throttling, transient, client).
 */
export interface SimulatedAwsError extends Error {
  Code: string;
  $fault: 'client' | 'server';
  $metadata: { httpStatusCode: number; requestId: string; attempts?: number };
}

const SERVER_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable']);
const THROTTLING_STATUS: Record<string, number> = {
  RequestLimitExceeded: 503,
  Throttling: 400,
  ThrottlingException: 400,
  TooManyRequestsException: 429,
};

let requestCounter = 0;

export function awsError(code: string, message: string, httpStatusCode?: number): SimulatedAwsError {
  const status = httpStatusCode ?? THROTTLING_STATUS[code] ?? (SERVER_CODES.has(code) ? 500 : 400);
  const error = new Error(message) as SimulatedAwsError;
  error.name = code;
  error.Code = code;
  error.$fault = status >= 500 && !(code in THROTTLING_STATUS) ? 'server' : 'client';
  requestCounter += 1;
  error.$metadata = {
    httpStatusCode: status,
    requestId: `sim-${requestCounter.toString(16).padStart(8, '0')}`,
  };
  return error;
}

/** `Invalid<Kind>ID.NotFound` in EC2's own wording. */
export function notFound(code: string, id: string, kind: string): SimulatedAwsError {
  return awsError(code, `The ${kind} ID '${id}' does not exist`);
}
