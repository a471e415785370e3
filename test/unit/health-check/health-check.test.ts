import { GetCommandInvocationCommand, ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { evaluateChecks, STANDARD_OUTPUT_LIMIT } from '../../../functions/health-check/health-check.js';
import { sampleContext } from '../helpers.js';

const ssmMock = mockClient(SSMClient);

/** `nodetool status` lines for `count` nodes, cut where GetCommandInvocation cuts standard output. */
function nodetool(count: number, state = 'UN'): string {
  const lines = Array.from(
    { length: count },
    (_, i) =>
      `${state}  10.6.${Math.floor(i / 250)}.${(i % 250) + 1}  1.21 MiB  1  ?  ${'0'.repeat(36)}  rack1`,
  );
  return `Datacenter: datacenter1\n${lines.join('\n')}\n`.slice(0, STANDARD_OUTPUT_LIMIT);
}

function answer(stdout: string, status: string) {
  ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: 'i-1' }] });
  ssmMock
    .on(GetCommandInvocationCommand)
    .resolves({ StandardOutputContent: stdout, Status: status as never });
}

beforeEach(() => ssmMock.reset());

describe('evaluateChecks, when SSM cut the output at 24,000 characters', () => {
  it('takes the check script exit code (it counts every node itself)', async () => {
    // Arrange: 1,000 nodes UN, but only ~320 lines fit in what GetCommandInvocation returns (none of them the
    // sample plan's nodes here: the lines alone cannot say).
    answer(nodetool(1000), 'Success');
    // Act
    const result = await evaluateChecks(sampleContext(), [{ commandId: 'c-1', check: 'cassandra' }], false);
    // Assert
    expect(result.healthy).toBe(true);
    expect(result.results[0].summary).toContain('output cut at 24000 characters');
  });

  it('stays unhealthy when the script failed', async () => {
    answer(nodetool(1000), 'Failed');
    const result = await evaluateChecks(sampleContext(), [{ commandId: 'c-1', check: 'cassandra' }], false);
    expect(result.healthy).toBe(false);
  });

  it('judges short output line by line, whatever the status', async () => {
    // The sample's 4 nodes are not in these lines: unhealthy even though the command succeeded.
    answer(nodetool(3), 'Success');
    const result = await evaluateChecks(sampleContext(), [{ commandId: 'c-1', check: 'cassandra' }], false);
    expect(result.healthy).toBe(false);
  });
});
