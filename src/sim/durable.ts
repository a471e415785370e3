import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/**
 * Durability of the simulated account. On AWS a created resource exists as soon as the call that created it
 * answers, whatever happens to the caller; so here every call that changes the account is committed before its
 * answer is returned: the entries it changed are appended to a journal as one line, then fsynced. The journal is
 * folded into the snapshot (`account.json`) when a run ends: written to a temporary name, fsynced, renamed.
 *
 * Why a journal and not a rewrite of the account per call: a 1,000-node account is megabytes of JSON and a create
 * makes thousands of changing calls, while one call changes a few entries (`npm run bench` has the figures). Why
 * not SQLite: the simulators keep their state as plain objects, so the store would hold the same JSON entries,
 * behind a native addon.
 *
 * Changes are found by a proxy over the services' state that records the entry (service, collection, id) under
 * which anything was set or deleted; the journal line holds those entries' values after the call.
 */

/** A state file that cannot be used as it is: the message names the file and what is wrong with it. */
export class StateFileProblem extends Error {
  override readonly name = 'StateFileProblem';
}

/** A file-system error in words an operator reads. */
export const describeFsError = (error: unknown) => {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'EEXIST') return 'not a directory';
  return code ?? message;
};

/**
 * Reads a JSON file of the state dir: undefined when it does not exist; otherwise the value `check` accepts, or a
 * problem naming the file (unreadable, not JSON, or what `check` says is wrong).
 */
export function readStateFile<T>(file: string, check: (value: unknown) => string | null): T | undefined {
  let text: string;
  try {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return undefined;
    if (stat.isDirectory()) throw new StateFileProblem(`${file}: is a directory, not a file`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof StateFileProblem) throw error;
    throw new StateFileProblem(`${file}: cannot read: ${describeFsError(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StateFileProblem(
      `${file}: not valid JSON (${text.length === 0 ? 'empty' : 'truncated or corrupt'}); restore it or remove it`,
    );
  }
  const wrong = check(value);
  if (wrong) throw new StateFileProblem(`${file}: ${wrong}`);
  return value as T;
}

/** Writes a file so a reader sees either the old or the new content, never a part: temp name, fsync, rename. */
export function writeFileAtomic(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dirname(path));
}

function syncDirectory(directory: string): void {
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  }
}

/** A path into the services' state: [service], [service, collection] or [service, collection, id]. */
export type EntryPath = string[];

/** One committed call: the entries it changed with their values after it, those it deleted, and the counters. */
export interface JournalLine {
  changes: [EntryPath, unknown][];
  deleted: EntryPath[];
  nextId: number;
  clock: number;
}

const ENTRY_DEPTH = 3;
const RAW = Symbol('raw');

/**
 * Records which entries of `root` are changed through the object it returns. Objects read through it come back
 * wrapped, so a change at any depth marks the entry it belongs to; values stored are unwrapped first, so the state
 * never holds a wrapper.
 */
export class ChangeTracker<T extends object> {
  readonly view: T;
  private readonly dirty = new Map<string, EntryPath>();
  private readonly wrappers = new WeakMap<object, object>();

  constructor(readonly root: T) {
    this.view = this.wrap(root, []) as T;
  }

  /** The entries changed since the last call, and forgets them. */
  takeChanges(): EntryPath[] {
    const paths = [...this.dirty.values()];
    this.dirty.clear();
    return paths;
  }

  get hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  private mark(path: EntryPath): void {
    this.dirty.set(JSON.stringify(path), path);
  }

  private wrap(target: object, path: EntryPath): object {
    const known = this.wrappers.get(target);
    if (known) return known;
    const childPath = (key: string) => (path.length < ENTRY_DEPTH ? [...path, key] : path);
    const wrapper = new Proxy(target, {
      get: (object, key, receiver) => {
        if (key === RAW) return object;
        const value = Reflect.get(object, key, receiver);
        if (typeof key !== 'string' || value === null || typeof value !== 'object') return value;
        // Most reads are of objects already wrapped: find their wrapper before making a path for a new one.
        return this.wrappers.get(value) ?? this.wrap(value, childPath(key));
      },
      set: (object, key, value) => {
        const raw = unwrap(value);
        // Simulators rewrite derived fields on every call (an instance's block devices, a state): an equal value
        // is no change, and must not make every call journal the whole fleet.
        if (typeof key === 'string' && !sameValue(Reflect.get(object, key), raw)) this.mark(childPath(key));
        return Reflect.set(object, key, raw);
      },
      deleteProperty: (object, key) => {
        if (typeof key === 'string') this.mark(childPath(key));
        return Reflect.deleteProperty(object, key);
      },
    });
    this.wrappers.set(target, wrapper);
    return wrapper;
  }
}

const sameValue = (before: unknown, after: unknown) =>
  Object.is(before, after) ||
  (typeof before === 'object' && typeof after === 'object' && isDeepStrictEqual(before, after));

/** The plain object behind a tracked one, for reads that must be fast: what is changed through it is not seen. */
export const untracked = <T>(value: T): T =>
  ((value as Record<symbol, unknown> | null)?.[RAW] as T | undefined) ?? value;

/** The plain value behind a tracked one, recursively (a spread of a tracked object holds tracked children). */
export function unwrap<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const raw = ((value as Record<symbol, unknown>)[RAW] ?? value) as T;
  if (Array.isArray(raw)) {
    for (let index = 0; index < raw.length; index++) raw[index] = unwrap(raw[index]);
  } else if (Object.getPrototypeOf(raw) === Object.prototype) {
    const record = raw as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = unwrap(record[key]);
  }
  return raw;
}

const NOT_FOUND = Symbol('not found');

function readPath(root: Record<string, unknown>, path: EntryPath): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return NOT_FOUND;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The journal line of one call: the current value of each changed entry. */
export function journalLine(
  services: Record<string, unknown>,
  paths: EntryPath[],
  counters: { nextId: number; clock: number },
): JournalLine {
  const changes: [EntryPath, unknown][] = [];
  const deleted: EntryPath[] = [];
  for (const path of paths) {
    const value = readPath(services, path);
    if (value === NOT_FOUND) deleted.push(path);
    else changes.push([path, value]);
  }
  return { changes, deleted, ...counters };
}

/** Applies a committed line to a snapshot's services (replay after a crash, or a reader's view of a run). */
export function applyJournalLine(services: Record<string, unknown>, line: JournalLine): void {
  for (const [path, value] of line.changes) {
    const parent = path.slice(0, -1).reduce<Record<string, unknown>>((node, key) => {
      if (node[key] === null || typeof node[key] !== 'object') node[key] = {};
      return node[key] as Record<string, unknown>;
    }, services);
    parent[path.at(-1)!] = structuredClone(value);
  }
  for (const path of line.deleted) {
    const parent = readPath(services, path.slice(0, -1));
    if (parent !== NOT_FOUND && parent !== null && typeof parent === 'object') {
      delete (parent as Record<string, unknown>)[path.at(-1)!];
    }
  }
}

/** An append-only journal file, one JSON line per committed call. */
export class Journal {
  private fd: number | null = null;

  constructor(readonly path: string) {}

  /** Appends one line and waits until it is on disk; returns the bytes written. */
  append(line: JournalLine): number {
    this.fd ??= openSync(this.path, 'a');
    const text = `${JSON.stringify(line)}\n`;
    writeSync(this.fd, text);
    fsyncSync(this.fd);
    return Buffer.byteLength(text);
  }

  /**
   * The committed lines. A kill during an append leaves a last line without its newline: that call never
   * answered, so it is not part of the account.
   */
  read(): JournalLine[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    return complete
      .split('\n')
      .filter((line) => line !== '')
      .map((line, index) => {
        try {
          return JSON.parse(line) as JournalLine;
        } catch {
          throw new Error(`${this.path}: line ${index + 1} is not valid JSON`);
        }
      });
  }

  /** Removes the journal once the snapshot holds everything in it. */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
