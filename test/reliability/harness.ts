import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sample from '../../examples/sample.json' with { type: 'json' };
import { mulberry32 } from '../seeded.js';

/**
 * The CLI as an operator runs it, in its own process: so kills, signals, closed pipes and two commands at once are
 * the real thing, not a simulation of them.
 */

export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'capi-deploy.js');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const newStateDir = () => mkdtempSync(join(tmpdir(), 'capi-reliability-'));

/** A spec file in `dir`: the sample with overrides (32 + 32 nodes make a run last long enough to interrupt). */
export function specFile(dir: string, overrides: Record<string, unknown> = {}, name = 'spec.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...sample, ...overrides }));
  return file;
}

export const BIG = { cassandraNodes: 32, daemons: 32 };

/** Runs a command to its end. */
export function cli(args: string[], stateDir: string): Result {
  const run = spawnSync(process.execPath, [BIN, ...args, '--local', '--state-dir', stateDir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CAPI_DEPLOY_STATE_DIR: '' },
  });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

/** Runs a shell pipeline whose first command is the CLI (`| head -2`): the exit status is the CLI's. */
export function piped(args: string[], stateDir: string, consumer: string): Result {
  const command = [process.execPath, BIN, ...args, '--local', '--state-dir', stateDir]
    .map((word) => `'${word}'`)
    .join(' ');
  const run = spawnSync('bash', ['-c', `set -o pipefail; ${command} | ${consumer}; exit \${PIPESTATUS[0]}`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

/** Starts a command in the background. */
export function start(args: string[], stateDir: string): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [BIN, ...args, '--local', '--state-dir', stateDir], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<Result>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a run has written its first execution record (it is past start-up and owns the lock). */
export async function untilRunning(stateDir: string, timeoutMs = 20_000): Promise<void> {
  const executions = join(stateDir, 'executions');
  for (const began = Date.now(); Date.now() - began < timeoutMs; await sleep(20)) {
    if (existsSync(executions) && readdirSync(executions).length > 0) return;
  }
  throw new Error(`no execution record in ${stateDir} after ${timeoutMs} ms`);
}

/** A seeded schedule of delays, so a failing kill point can be replayed. */
export function seededDelays(seed: number, count: number, maxMs: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Math.round(next() * maxMs));
}

/** What `status --json` lists, by resource type: what "same result" means between two runs. */
export function resourceCounts(stateDir: string, deployment = 'sample'): Record<string, number> {
  const result = cli(['status', deployment, '--json'], stateDir);
  if (result.status !== 0) throw new Error(`status ${deployment}: exit ${result.status}: ${result.stderr}`);
  const counts: Record<string, number> = {};
  for (const item of JSON.parse(result.stdout).resources as { type: string }[]) {
    counts[item.type] = (counts[item.type] ?? 0) + 1;
  }
  return counts;
}

/** A stack trace in the output: never acceptable for an operator. */
export const hasStackTrace = (text: string) => /^\s+at .+[:(]/m.test(text) || /node:internal/.test(text);
