import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describeFsError, readStateFile, StateFileProblem, writeFileAtomic } from '../sim/durable.js';

/**
 * The local state directory: its checks, its JSON files (always written atomically) and its lock. Every problem
 * with it is a {@link StateFileProblem}: one line naming the file and what is wrong, which the CLI prints with exit
 * code 2 (the operator's to fix), never a stack trace and never a silently empty account.
 */

/** The state dir is held by another command. */
export class StateDirBusy extends StateFileProblem {}

/** Checks that `stateDir` is a usable directory (creating it when `create`), before anything else reads it. */
export function checkStateDir(stateDir: string, options: { create: boolean }): void {
  try {
    if (options.create) mkdirSync(stateDir, { recursive: true });
    const stat = statSync(stateDir, { throwIfNoEntry: false });
    if (!stat) return;
    if (!stat.isDirectory()) throw new StateFileProblem(`state dir ${stateDir}: not a directory`);
    readdirSync(stateDir);
  } catch (error) {
    if (error instanceof StateFileProblem) throw error;
    throw new StateFileProblem(`state dir ${stateDir}: ${describeFsError(error)}`);
  }
}

/** Writes a JSON file of the state dir atomically (temp name, fsync, rename). */
export function writeStateFile(file: string, value: unknown): void {
  try {
    writeFileAtomic(file, `${JSON.stringify(value, null, 1)}\n`);
  } catch (error) {
    throw new StateFileProblem(`${file}: cannot write: ${describeFsError(error)}`);
  }
}

/** Who holds the lock of a state dir. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** Whether a process of this host is still running (a pid of another host cannot be checked: assume alive). */
export function isAlive(holder: Pick<LockHolder, 'pid' | 'host'>): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const isHolder = (value: unknown): string | null => {
  const holder = value as Partial<LockHolder> | null;
  return holder && typeof holder.pid === 'number' && typeof holder.host === 'string'
    ? null
    : 'not a lock record (pid, host, command, since)';
};

/**
 * Takes the state dir's lock for a command that changes the account (create, delete, terminate): one such command
 * at a time, so two runs never interleave their writes. A lock left by a dead process is taken over. Returns the
 * release function.
 */
export function lockStateDir(stateDir: string, command: string): () => void {
  const file = join(stateDir, 'lock');
  const me: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StateFileProblem(`${file}: cannot create the lock: ${describeFsError(error)}`);
      }
    }
    const holder = safeHolder(file);
    if (holder === 'being written' || (holder && isAlive(holder))) {
      const who =
        holder === 'being written'
          ? 'another command'
          : `"${holder.command}" (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
      throw new StateDirBusy(
        `state dir ${stateDir} is in use by ${who}; wait until it ends, or use another --state-dir`,
      );
    }
    // Its holder is gone (killed): the lock is stale.
    rmSync(file, { force: true });
  }
  throw new StateDirBusy(
    `state dir ${stateDir}: another command took the lock at the same moment; try again`,
  );
}

/** The lock's holder. A lock file without a holder is being written if it is new, else it was cut by a kill. */
function safeHolder(file: string): LockHolder | 'being written' | undefined {
  try {
    return readStateFile<LockHolder>(file, isHolder);
  } catch {
    const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    return age < 5000 ? 'being written' : undefined;
  }
}
