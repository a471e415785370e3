import { createHash } from 'node:crypto';

/**
 * How one service pages a list call: the bounds of its page-size parameter (MaxResults, ResourcesPerPage) and
 * the errors it answers with, which differ by service (InvalidNextToken, InvalidParameterException, ...).
 */
export interface Paging {
  /** Inclusive bounds of the page size a request may ask for. */
  min: number;
  max: number;
  /** The page size when the request names none. */
  fallback: number;
  /** EC2's describes answer a request with neither a page size nor a token in one response. */
  wholeByDefault?: boolean;
  /** The service's error for a page size out of bounds (or not an integer). */
  badSize(size: number): Error;
  /** The service's error for a token it did not issue for this query. */
  badToken(): Error;
}

export interface PageRequest {
  /** The page size as the caller sent it (MaxResults, ResourcesPerPage). */
  size: unknown;
  /** The token as the caller sent it (NextToken, PaginationToken). */
  token: unknown;
  /** The operation and query the token is bound to. */
  scope: string;
}

/** One page, and the token of the next one when there is more. */
export interface Page<T> {
  page: T[];
  NextToken?: string;
}

const absent = (value: unknown) => value === undefined || value === null;
// An empty token is no token (the Tagging API even answers '' on its last page).
const noToken = (token: unknown) => absent(token) || token === '';

const scopeDigest = (scope: string) => createHash('sha256').update(scope).digest('hex').slice(0, 12);

/**
 * The page size a request asks for, checked against the service's bounds. Exported for operations that must
 * reject a bad size before they do any work (AWS validates input before acting).
 */
export function pageSize(value: unknown, paging: Paging): number {
  if (absent(value)) return paging.fallback;
  const size = Number(value);
  if (!Number.isInteger(size) || size < paging.min || size > paging.max) throw paging.badSize(size);
  return size;
}

function tokenFor(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: scopeDigest(scope), o: offset })).toString('base64url');
}

/** Tokens are opaque to callers and bound to their query, as AWS's are: a token of another query is invalid. */
function offsetOf(token: unknown, scope: string, paging: Paging): number {
  if (noToken(token)) return 0;
  try {
    const decoded = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8'));
    if (decoded.s === scopeDigest(scope) && Number.isInteger(decoded.o)) return decoded.o;
  } catch {
    // Not even ours: the same error as a token of another query.
  }
  throw paging.badToken();
}

/** One page of `items` for `request`, with the token of the next page when there is more. */
export function pageOf<T>(items: T[], request: PageRequest, paging: Paging): Page<T> {
  const size = pageSize(request.size, paging);
  if (paging.wholeByDefault && absent(request.size) && noToken(request.token)) return { page: items };
  const offset = offsetOf(request.token, request.scope, paging);
  const end = offset + size;
  const page = items.slice(offset, end);
  return end < items.length ? { page, NextToken: tokenFor(request.scope, end) } : { page };
}
