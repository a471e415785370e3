import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures what the program prints, per test: `out` (console.log), `err` (console.error and commander's usage
 * errors through process.stderr.write), each a list of lines. Call at the top of a test file.
 */
export function captureOutput(): { readonly out: string[]; readonly err: string[] } {
  const captured = { out: [] as string[], err: [] as string[] };
  beforeEach(() => {
    captured.out = [];
    captured.err = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      captured.out.push(String(line));
    });
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      captured.err.push(String(line));
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((text: string | Uint8Array) => {
      captured.err.push(String(text));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return captured;
}
