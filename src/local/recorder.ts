import type { StateMachine } from 'aws-local-stepfunctions';
import { clipStepData, lastOf, type StepRecord } from '../core/execution-record.js';

/** One event of aws-local-stepfunctions' log (the package does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** History events Step Functions writes per state visit, beyond Entered/Exited (Standard workflows). */
const EXTRA_ON_ENTER: Record<string, number> = { Task: 2, Parallel: 1, Map: 1 };
const EXTRA_ON_EXIT: Record<string, number> = { Task: 1, Parallel: 1, Map: 1 };

/**
 * Turns aws-local-stepfunctions' event log into our step records, and counts what the same run would cost on
 * Step Functions: history events (TaskScheduled/Started/Succeeded and friends included) and state transitions.
 */
export class HistoryRecorder {
  readonly steps: StepRecord[] = [];
  historyEvents = 0;
  stateTransitions = 0;
  executionError: { error: string; cause: string } | null = null;
  private readonly open = new Map<string, StepRecord>();

  private key(name: string, index?: number) {
    return index === undefined ? name : `${name}#${index}`;
  }

  record(
    event: EventLog,
    parents: Record<string, string | undefined>,
    onStep?: (step: StepRecord, phase: 'start' | 'end') => void,
  ): void {
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.historyEvents += 1;
        return;
      case 'ExecutionFailed':
        this.historyEvents += 1;
        this.executionError = { error: event.Error, cause: String(event.Cause ?? '') };
        return;
      case 'StateEntered': {
        const { name, type } = event.state;
        this.historyEvents += 1 + (EXTRA_ON_ENTER[type] ?? 0);
        this.stateTransitions += 1;
        const step: StepRecord = {
          name,
          type,
          start: event.timestamp,
          end: null,
          retries: 0,
          outcome: 'running',
          ...(event.index !== undefined ? { index: event.index } : {}),
          ...(parents[name] ? { parent: parents[name] } : {}),
          ...(type === 'Task' ? { input: clipStepData(event.state.input) } : {}),
        };
        this.open.set(this.key(name, event.index), step);
        this.steps.push(step);
        onStep?.(step, 'start');
        return;
      }
      case 'StateFailed': {
        const step = this.open.get(this.key(event.state.name, event.index));
        this.historyEvents += event.state.type === 'Task' || event.state.type in EXTRA_ON_EXIT ? 1 : 0;
        if (!step) return;
        step.outcome = 'failed';
        step.error = event.Error;
        step.cause = String(event.Cause ?? '');
        step.end = event.timestamp;
        return;
      }
      case 'StateRetried': {
        const step = this.open.get(this.key(event.state.name, event.index));
        this.historyEvents += EXTRA_ON_ENTER[event.state.type] ?? 0;
        this.stateTransitions += 1;
        if (!step) return;
        step.retries += 1;
        step.outcome = 'running';
        step.end = null;
        return;
      }
      case 'StateCaught': {
        const step = this.open.get(this.key(event.state.name, event.index));
        if (step) step.outcome = 'caught';
        return;
      }
      case 'StateExited': {
        const step = this.open.get(this.key(event.state.name, event.index));
        const caught = step?.outcome === 'caught';
        this.historyEvents += 1 + (caught ? 0 : (EXTRA_ON_EXIT[event.state.type] ?? 0));
        if (!step) return;
        if (!caught) step.outcome = 'succeeded';
        if (!caught && step.type === 'Task') step.output = clipStepData(event.state.output);
        step.end = event.timestamp;
        this.open.delete(this.key(event.state.name, event.index));
        onStep?.(step, 'end');
        return;
      }
      default:
        return;
    }
  }

  /**
   * The log lines of one Lambda run of state `name` (local mode captures them, with virtual timestamps): they go to
   * that state's latest visit; the lines of a retried attempt stay with the visit, after the earlier attempts'.
   */
  addLogs(name: string, lines: string[]): void {
    if (lines.length === 0) return;
    const step =
      lastOf(this.steps, (candidate) => candidate.name === name && candidate.end === null) ??
      lastOf(this.steps, (candidate) => candidate.name === name);
    if (!step) return;
    step.logs = [...(step.logs ?? []), ...lines];
  }

  /** The step to blame for a failed execution: the first Task that failed without being retried or caught. */
  failedStep(): StepRecord | undefined {
    return (
      this.steps.find((step) => step.outcome === 'failed' && step.type === 'Task') ??
      this.steps.find((step) => step.outcome === 'failed')
    );
  }

  /** Closes steps that never exited (failed states inside a failed Parallel). */
  finish(now: number): void {
    for (const step of this.steps) {
      if (step.end === null) step.end = now;
      if (step.outcome === 'running') step.outcome = 'failed';
    }
  }
}
