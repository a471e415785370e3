import type { ServerResponse } from 'node:http';
import type { ExecutionRecord } from '../core/execution-record.js';
import { type ExecutionView, executionView } from './status.js';

/**
 * Server-sent events: one stream per open page, fed by one watcher per execution however many pages watch it.
 * The watcher sends an `execution` event (the small {@link ExecutionView}, never the whole history) when the
 * record changed, and a `deployments` event when any run of this console moved; a page re-reads what it shows
 * on that event, nothing else polls. A run of another process (the CLI) is followed by re-reading its record
 * at most every `pollMs`, only while it runs and only while someone watches.
 *
 * Timers are taken at load: a local run fakes the global `setTimeout` / `setInterval` / `Date` (virtual time) in
 * this very process, and the console must keep real time meanwhile.
 */
const realSetInterval = globalThis.setInterval.bind(globalThis);
const realClearInterval = globalThis.clearInterval.bind(globalThis);

/** One open event stream. */
class EventStream {
  private readonly heartbeat: ReturnType<typeof setInterval>;
  closed = false;

  constructor(
    private readonly res: ServerResponse,
    heartbeatMs = 15_000,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.heartbeat = realSetInterval(() => this.comment('keep-alive'), heartbeatMs);
    res.on('close', () => this.close());
  }

  /** Sends one event; `data` is JSON on one line. */
  send(event: string, data: unknown): void {
    if (this.closed) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    if (!this.closed) this.res.write(`: ${text}\n\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    realClearInterval(this.heartbeat);
    this.res.end();
  }
}

interface Watcher {
  streams: Set<EventStream>;
  last: string;
  timer: ReturnType<typeof setInterval> | null;
  reading: boolean;
  /** A change came while the record was being read: read it again after. */
  again: boolean;
}

/** The streams of a console and the execution watchers that feed them. */
class EventHub {
  private readonly all = new Set<EventStream>();
  private readonly watchers = new Map<string, Watcher>();

  constructor(
    private readonly load: (execution: string) => Promise<ExecutionRecord | null>,
    private readonly pollMs = 1000,
  ) {}

  /** Opens a stream; with `execution`, sends its view at once and on every change. */
  open(res: ServerResponse, execution?: string): EventStream {
    const stream = new EventStream(res);
    this.all.add(stream);
    res.on('close', () => {
      this.all.delete(stream);
      if (execution) this.leave(execution, stream);
    });
    if (execution) {
      const watcher = this.watcher(execution);
      watcher.streams.add(stream);
      watcher.last = '';
      void this.refresh(execution);
    }
    return stream;
  }

  /** Something moved (a run of this console stepped, started or ended): tell every page, refresh the execution. */
  changed(deployment: string, execution: string): void {
    for (const stream of this.all) stream.send('deployments', { deployment, execution });
    void this.refresh(execution);
  }

  /** Closes every stream (the console stops). */
  close(): void {
    for (const stream of this.all) stream.close();
    for (const watcher of this.watchers.values()) if (watcher.timer) realClearInterval(watcher.timer);
    this.watchers.clear();
  }

  private watcher(execution: string): Watcher {
    let watcher = this.watchers.get(execution);
    if (!watcher) {
      watcher = { streams: new Set(), last: '', timer: null, reading: false, again: false };
      this.watchers.set(execution, watcher);
    }
    return watcher;
  }

  private leave(execution: string, stream: EventStream): void {
    const watcher = this.watchers.get(execution);
    if (!watcher) return;
    watcher.streams.delete(stream);
    if (watcher.streams.size > 0) return;
    if (watcher.timer) realClearInterval(watcher.timer);
    this.watchers.delete(execution);
  }

  /** Reads the execution again and sends its view to its watchers when it changed. */
  private async refresh(execution: string): Promise<void> {
    const watcher = this.watchers.get(execution);
    if (!watcher || watcher.streams.size === 0) return;
    if (watcher.reading) {
      watcher.again = true;
      return;
    }
    watcher.reading = true;
    watcher.again = false;
    let view: ExecutionView | null = null;
    try {
      const record = await this.load(execution);
      view = record ? executionView(record) : null;
    } catch {
      view = null;
    } finally {
      watcher.reading = false;
    }
    if (watcher.again) void this.refresh(execution);
    if (!view) return;
    const text = JSON.stringify(view);
    if (text !== watcher.last) {
      watcher.last = text;
      for (const stream of watcher.streams) stream.send('execution', view);
    }
    const running = view.status === 'RUNNING';
    if (running && !watcher.timer) {
      watcher.timer = realSetInterval(() => void this.refresh(execution), this.pollMs);
    } else if (!running && watcher.timer) {
      realClearInterval(watcher.timer);
      watcher.timer = null;
    }
  }
}

export { EventHub, EventStream };
