import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Programs outside npm that some tests run. On a machine without one, its tests are skipped with a one-line notice,
 * so `npm test` passes on a fresh checkout; with `CAPI_REQUIRE_TOOLS=1` (CI: `.ci/run` installs them) they run and
 * fail instead.
 */
interface Tool {
  /** The command, looked up on PATH. */
  readonly command: string;
  /** How to install it. */
  readonly install: string;
}

const SHELLCHECK: Tool = { command: 'shellcheck', install: 'apt-get install shellcheck' };
/** Debian's Chromium, driven headless by playwright-core. */
const CHROMIUM: Tool = { command: 'chromium', install: 'apt-get install chromium' };

/** Whether absent tools fail their tests rather than skip them. */
const toolsRequired = () => process.env.CAPI_REQUIRE_TOOLS === '1';

/** The absolute path of an executable file named `command` in a PATH directory, or undefined. */
function toolPath(tool: Tool): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const file = join(dir, tool.command);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Whether the tests that need `tool` should be skipped (for `describe.skipIf`): only when it is absent and not
 * required, and then it prints why, in one line.
 */
function skipWithout(tool: Tool): boolean {
  if (toolsRequired() || toolPath(tool)) return false;
  console.warn(
    `skipped: ${tool.command} is not installed (${tool.install}); CI requires it (CAPI_REQUIRE_TOOLS=1)`,
  );
  return true;
}

/** The path of a tool a test is about to run; fails the test, saying how to install it, when it is absent. */
function requireTool(tool: Tool): string {
  const path = toolPath(tool);
  if (!path) throw new Error(`${tool.command} is not installed: ${tool.install}`);
  return path;
}

export type { Tool };
export { CHROMIUM, requireTool, SHELLCHECK, skipWithout };
