import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY, SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { CALL_LATENCY, CallLatencyModel, callFamily, LAMBDA_INVOKE_SECONDS } from '../../src/sim/latency.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { ec2Simulator } from '../../src/sim/services/ec2.js';
import { iamSimulator } from '../../src/sim/services/iam.js';

/**
 * The per-call latency model (src/sim/latency.ts, CALL_LATENCY): every simulated call takes virtual time, drawn
 * with seeded jitter, heavy calls slower; `SimulatedAccount.handle` waits it under the virtual clock, so calls made
 * together overlap, and the SDK's own retry backoff takes virtual time too.
 */

const START = Date.parse('2026-01-05T10:00:00Z');
const credentials = { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' };

const draws = (seed: number, service: string, operation: string, input = {}) => {
  const model = new CallLatencyModel(seed);
  return Array.from({ length: 50 }, () => model.seconds(service, operation, input));
};
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

function setup(options: { faults?: Partial<FaultRule>[]; maxAttempts?: number; seed?: number } = {}) {
  const faults = (options.faults ?? []).map((rule) => ({ times: 1, ...rule }) as FaultRule);
  const account = new SimulatedAccount([ec2Simulator, iamSimulator], { faults, seed: options.seed });
  const ec2 = new EC2Client({ region: 'us-east-1', credentials, maxAttempts: options.maxAttempts ?? 1 });
  attachSimulator(ec2, account);
  return { account, ec2 };
}

describe('CALL_LATENCY', () => {
  it('gives every family a base, a jitter and a source or stated assumption', () => {
    for (const [family, entry] of Object.entries(CALL_LATENCY)) {
      expect(entry.base, family).toBeGreaterThan(0);
      expect(entry.jitter, family).toBeGreaterThanOrEqual(0);
      expect(entry.jitter, family).toBeLessThan(1);
      expect(entry.source, family).toMatch(/ASSUMPTION|VERIFIED|REPORTED/);
    }
    expect(LAMBDA_INVOKE_SECONDS.coldStart).toBeGreaterThan(LAMBDA_INVOKE_SECONDS.warm);
  });

  it('sorts calls into families by service and operation', () => {
    expect(callFamily('EC2', 'DescribeInstances')).toBe('ec2Read');
    expect(callFamily('EC2', 'CreateVpc')).toBe('ec2Write');
    expect(callFamily('EC2', 'RunInstances')).toBe('ec2RunInstances');
    expect(callFamily('SSM', 'SendCommand')).toBe('ssmSendCommand');
    expect(callFamily('SSM', 'GetCommandInvocation')).toBe('ssmRead');
    expect(callFamily('IAM', 'CreateRole')).toBe('iamWrite');
    expect(callFamily('IAM', 'GetRole')).toBe('iamRead');
    expect(callFamily('STS', 'AssumeRole')).toBe('sts');
    expect(callFamily('ResourceGroupsTaggingAPI', 'GetResources')).toBe('tagging');
  });

  it('draws the same times for the same seed, other times for another seed', () => {
    expect(draws(7, 'EC2', 'DescribeVpcs')).toEqual(draws(7, 'EC2', 'DescribeVpcs'));
    expect(draws(7, 'EC2', 'DescribeVpcs')).not.toEqual(draws(8, 'EC2', 'DescribeVpcs'));
  });

  it('keeps each draw within its jitter around the nominal time, in whole milliseconds', () => {
    const { base, jitter } = CALL_LATENCY.ec2Read;
    for (const seconds of draws(1, 'EC2', 'DescribeVpcs')) {
      expect(seconds).toBeGreaterThanOrEqual(base * (1 - jitter) - 0.001);
      expect(seconds).toBeLessThanOrEqual(base * (1 + jitter) + 0.001);
      expect(Number.isInteger(Math.round(seconds * 1000))).toBe(true);
    }
  });

  it('makes heavy calls slower: RunInstances (more so per instance) > IAM writes > EC2 writes > EC2 reads', () => {
    const run1 = mean(draws(3, 'EC2', 'RunInstances', { MinCount: 1, MaxCount: 1 }));
    const run20 = mean(draws(3, 'EC2', 'RunInstances', { MinCount: 20, MaxCount: 20 }));
    const iamWrite = mean(draws(3, 'IAM', 'CreateRole'));
    const ec2Write = mean(draws(3, 'EC2', 'CreateVpc'));
    const ec2Read = mean(draws(3, 'EC2', 'DescribeVpcs'));
    expect(run1).toBeGreaterThanOrEqual(1);
    expect(run1).toBeLessThanOrEqual(3);
    expect(run20).toBeGreaterThan(run1);
    expect(run1).toBeGreaterThan(iamWrite);
    expect(iamWrite).toBeGreaterThan(ec2Write);
    expect(ec2Write).toBeGreaterThan(ec2Read);
    expect(mean(draws(3, 'IAM', 'GetRole'))).toBeGreaterThan(ec2Read);
  });

  it('answers instantly when switched off', () => {
    expect(new CallLatencyModel(1, false).seconds('EC2', 'RunInstances', { MaxCount: 5 })).toBe(0);
  });
});

describe('SimulatedAccount.handle under the virtual clock', () => {
  it('takes the drawn time, and concurrent calls overlap', async () => {
    const { ec2 } = setup({ seed: 5 });
    const expected = new CallLatencyModel(5).seconds('EC2', 'DescribeVpcs');
    const one = await runInVirtualTime(START, () => ec2.send(new DescribeVpcsCommand({})));
    expect(one.virtualMs).toBe(Math.round(expected * 1000));
    const ten = await runInVirtualTime(START, () =>
      Promise.all(Array.from({ length: 10 }, () => ec2.send(new DescribeVpcsCommand({})))),
    );
    // Ten calls at once take as long as the slowest, not the sum.
    expect(ten.virtualMs).toBeLessThanOrEqual(CALL_LATENCY.ec2Read.base * 1.5 * 1000 + 1);
  });

  it('makes a call matching a latencySeconds rule take that long', async () => {
    const { ec2 } = setup({ faults: [{ service: 'EC2', operation: 'DescribeVpcs', latencySeconds: 90 }] });
    const slow = await runInVirtualTime(START, () => ec2.send(new DescribeVpcsCommand({})));
    expect(slow.virtualMs).toBe(90_000);
    // times 1: the next call is back to the model.
    const next = await runInVirtualTime(START, () => ec2.send(new DescribeVpcsCommand({})));
    expect(next.virtualMs).toBeLessThan(1000);
  });

  it('lets the SDK back off under throttling in virtual time, each attempt taking its call time', async () => {
    const { ec2, account } = setup({
      faults: [{ service: 'EC2', operation: 'DescribeVpcs', error: 'RequestLimitExceeded', times: 2 }],
      maxAttempts: 3,
    });
    const { result, virtualMs } = await runInVirtualTime(START, () => ec2.send(new DescribeVpcsCommand({})));
    expect(result.$metadata.attempts).toBe(3);
    expect(account.apiCalls['EC2:DescribeVpcs']).toBe(3);
    // Three calls of at least base × (1 - jitter) each, plus the SDK's retry delays (which the SDK reports).
    const minimum = 3 * CALL_LATENCY.ec2Read.base * (1 - CALL_LATENCY.ec2Read.jitter) * 1000;
    expect(virtualMs).toBeGreaterThanOrEqual(Math.floor(minimum + (result.$metadata.totalRetryDelay ?? 0)));
    expect(result.$metadata.totalRetryDelay).toBeGreaterThan(0);
  });
});
