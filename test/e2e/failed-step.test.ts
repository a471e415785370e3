import { describe, expect, it } from 'vitest';
import { blameStep } from '../../src/core/execution-record.js';
import { renderHistory } from '../../src/report/history.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { newStateDir, run } from './harness.js';

/** One source for the failed step: the record `create` prints and `--json` carries, `history` and the report. */
describe('the failed step', () => {
  it.each([
    [
      'a CreateVpc failure inside the network Parallel',
      { service: 'EC2', operation: 'CreateVpc', error: 'InternalError', times: -1 },
      'Create VPC',
    ],
    [
      'a Cassandra configure failure caught into the Fail state',
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass002',
        document: 'capi-cassandra-configure',
        exitCode: 1,
        stderr: 'boom',
        times: -1,
      },
      'Check Cassandra configuration',
    ],
  ] as const)('is the same everywhere for %s', async (_, rule, step) => {
    // Act
    const record = await run(newStateDir(), 'create-deployment', undefined, [rule]);

    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure?.state).toBe(step);
    expect(blameStep(record.steps, record.failure!)?.name).toBe(step);
    expect(renderHistory(record)[0]).toBe(`✖ FAILED at step: ${step}`);
    expect(renderHtmlReport(record, { resources: [] })).toContain(
      `<section id="failed-step" class="failure" data-state="${step}">`,
    );
  });
});
