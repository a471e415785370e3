import { describe, expect, it } from 'vitest';
import { stateView } from '../../src/console/status.js';
import { clipStepData, type ExecutionRecord, type StepRecord } from '../../src/core/execution-record.js';

/** The console's state panel: a Task's recorded input and output, cut when long, secrets never shown. */
const step = (overrides: Partial<StepRecord>): StepRecord => ({
  name: 'Create VPC',
  type: 'Task',
  start: 0,
  end: 1000,
  retries: 0,
  outcome: 'succeeded',
  ...overrides,
});

const recordOf = (steps: StepRecord[]) =>
  ({
    status: 'SUCCEEDED',
    steps,
    output: { done: true },
    metrics: {
      historyEvents: 0,
      stateTransitions: 0,
      virtualSeconds: 1,
      apiCalls: 0,
      apiCallsByOperation: {},
    },
  }) as unknown as ExecutionRecord;

describe('the state panel', () => {
  it("shows the latest visit's input and output", () => {
    const record = recordOf([
      step({ input: { action: 'ensure', round: 1 }, output: { state: 'pending' } }),
      step({ input: { action: 'ensure', round: 2 }, output: { state: 'available' } }),
      step({ name: 'Judge', type: 'Pass' }),
    ]);
    const view = stateView(record, 'Create VPC');
    expect(view.input).toEqual({ action: 'ensure', round: 2 });
    expect(view.output).toEqual({ state: 'available' });
  });

  it('hides secret-looking fields and assignments, even in a cut value', () => {
    const long = { customer: 'acme', adminPassword: 'p4ss', padding: 'x'.repeat(3000) };
    const clipped = clipStepData(long);
    expect(typeof clipped).toBe('string');
    expect(String(clipped)).toMatch(/characters, cut\)$/);
    const view = stateView(
      recordOf([step({ input: clipped, output: { externalId: 'e-123' } })]),
      'Create VPC',
    );
    expect(JSON.stringify(view)).not.toContain('p4ss');
    expect(JSON.stringify(view)).not.toContain('e-123');
  });
});
