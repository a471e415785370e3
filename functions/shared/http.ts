/**
 * Plain HTTP checks of artifacts the nodes will download (the Capillaries release), made before anything is
 * created. Uses the global `fetch` in Lambda; local mode and tests inject their own with {@link configureHttp},
 * as they inject the AWS simulator with `configureClients`.
 */

/** The part of `fetch` a probe needs. */
export type FetchLike = (
  url: string,
  init: { method: 'HEAD' | 'GET'; signal: AbortSignal; redirect: 'follow'; headers?: Record<string, string> },
) => Promise<{ status: number }>;

interface HttpSettings {
  fetch?: FetchLike;
  /** Per-attempt timeout; 10 s unless a test shortens it. */
  timeoutMs?: number;
  /** Pause before the one retry; 1 s unless a test shortens it. */
  retryDelayMs?: number;
}

let settings: HttpSettings = {};

/** Local mode and tests only: the fetch used by {@link probeUrl} from now on (`{}` restores the global fetch). */
export function configureHttp(next: HttpSettings | FetchLike): void {
  settings = typeof next === 'function' ? { fetch: next } : next;
}

export interface ProbeResult {
  /** True for a 2xx or 3xx answer. */
  ok: boolean;
  /** The HTTP status of the last attempt; 0 when there was no answer (DNS, TLS, connection, timeout). */
  status: number;
}

const answered = (status: number) => status >= 200 && status < 400;
/** Worth a second try: no answer, throttled or a server error. A 403 or 404 will not change in a second. */
const transient = (status: number) => status === 0 || status === 429 || status >= 500;

async function attempt(fetchImpl: FetchLike, url: string, method: 'HEAD' | 'GET'): Promise<number> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs ?? 10_000);
  try {
    const response = await fetchImpl(url, {
      method,
      signal: controller.signal,
      redirect: 'follow',
      // A GET fallback asks for one byte, not the whole binary.
      ...(method === 'GET' ? { headers: { Range: 'bytes=0-0' } } : {}),
    });
    return response.status;
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether `url` answers: a HEAD request (10 s timeout), retried once after a transient failure. A server that
 * refuses HEAD (405/501) is asked again with a one-byte GET.
 */
export async function probeUrl(url: string): Promise<ProbeResult> {
  const fetchImpl: FetchLike = settings.fetch ?? ((target, init) => fetch(target, init));
  const once = async () => {
    const status = await attempt(fetchImpl, url, 'HEAD');
    return status === 405 || status === 501 ? attempt(fetchImpl, url, 'GET') : status;
  };
  let status = await once();
  if (transient(status)) {
    await new Promise((resolve) => setTimeout(resolve, settings.retryDelayMs ?? 1000));
    status = await once();
  }
  return { ok: answered(status), status };
}
