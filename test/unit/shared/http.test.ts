import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configureHttp, type FetchLike, probeUrl } from '../../../functions/shared/http.js';

const PROBED = 'https://capillaries-release.s3.us-east-1.amazonaws.com/latest/linux/arm64/capidaemon.gz';

let fetchMock: ReturnType<typeof vi.fn<FetchLike>>;

beforeEach(() => {
  fetchMock = vi.fn<FetchLike>(async () => ({ status: 200 }));
  configureHttp({ fetch: fetchMock, retryDelayMs: 0 });
});

afterEach(() => {
  configureHttp({});
});

describe('probeUrl', () => {
  it('retries once after a server error', async () => {
    fetchMock.mockResolvedValueOnce({ status: 503 }).mockResolvedValueOnce({ status: 200 });
    expect(await probeUrl(PROBED)).toEqual({ ok: true, status: 200 });
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('reports status 0 when the host never answers, after one retry', async () => {
    fetchMock.mockRejectedValue(new TypeError('fetch failed'));
    expect(await probeUrl(PROBED)).toEqual({ ok: false, status: 0 });
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('falls back to a one-byte GET when HEAD is not allowed', async () => {
    fetchMock.mockResolvedValueOnce({ status: 405 }).mockResolvedValueOnce({ status: 206 });
    expect(await probeUrl(PROBED)).toEqual({ ok: true, status: 206 });
    expect(fetchMock.mock.calls[1][1]).toMatchObject({ method: 'GET', headers: { Range: 'bytes=0-0' } });
  });

  it('aborts an attempt that takes longer than the timeout', async () => {
    configureHttp({
      fetch: (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
      timeoutMs: 5,
      retryDelayMs: 0,
    });
    expect(await probeUrl(PROBED)).toEqual({ ok: false, status: 0 });
  });
});
