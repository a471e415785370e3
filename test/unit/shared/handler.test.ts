import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { lambdaHandler } from '../../../functions/shared/handler.js';
import { configureLogSink, countMetric, logger, METRIC } from '../../../functions/shared/observability.js';
import { ResourceConflict } from '../../../src/core/errors.js';
import { expectNamedError } from '../helpers.js';

/** functions/shared/handler.ts: middy + Powertools around every handler. */

const Input = z.object({ action: z.literal('ensure'), spec: z.object({ name: z.string() }) });
const event = (extra: Record<string, unknown> = {}) => ({
  action: 'ensure',
  spec: { name: 'sample' },
  context: { execution: 'create-sample-20261129T000000Z', state: 'Create VPC' },
  ...extra,
});

let lines: Record<string, unknown>[];
beforeEach(() => {
  lines = [];
  configureLogSink((line) => lines.push(JSON.parse(line)));
});
afterEach(() => {
  configureLogSink(undefined);
  vi.useRealTimers();
});

describe('lambdaHandler', () => {
  it('logs the step as JSON lines with the correlation keys and returns the result', async () => {
    // Prepare
    const handler = lambdaHandler('vpc', Input, async (input) => {
      logger.info('working', { node: 'cass001' });
      return { vpcId: 'vpc-1', name: input.spec.name };
    });

    // Act
    const result = await handler(event());

    // Assess
    expect(result).toEqual({ vpcId: 'vpc-1', name: 'sample' });
    expect(lines.map((line) => line.message)).toEqual(['step started', 'working', 'step succeeded']);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 'INFO',
        service: 'capideploy',
        function: 'vpc',
        function_name: 'capideploy-vpc',
        deployment: 'sample',
        execution: 'create-sample-20261129T000000Z',
        state: 'Create VPC',
      });
    }
    expect(lines[1].node).toBe('cass001');
    // The event (the spec) is never logged.
    expect(JSON.stringify(lines)).not.toContain('"spec"');
  });

  it('raises InvalidSpec naming the bad field, and logs the failure under the step', async () => {
    // Prepare
    const handler = lambdaHandler('vpc', Input, async () => ({}));

    // Act
    await expectNamedError(handler(event({ action: 'recreate' })), 'InvalidSpec', {
      resource: 'input of vpc',
    });
    await expectNamedError(handler(event({ context: { state: 42 } })), 'InvalidSpec', {
      message: expect.stringContaining('context.state'),
    });

    // Assess
    expect(lines.filter((line) => line.message === 'step failed').map((line) => line.errorName)).toEqual([
      'InvalidSpec',
      'InvalidSpec',
    ]);
  });

  it('lets the named error of the logic through unchanged', async () => {
    // Prepare
    const conflict = new ResourceConflict({
      resource: 'vpc sample',
      message: 'two VPCs',
      hint: 'delete one',
    });
    const handler = lambdaHandler('vpc', Input, async () => {
      throw conflict;
    });

    // Act
    const error = await handler(event()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBe(conflict);
    expect(lines.at(-1)).toMatchObject({
      level: 'ERROR',
      message: 'step failed',
      errorName: 'ResourceConflict',
    });
  });

  it('publishes the metrics as one EMF line in namespace CapiDeploy', async () => {
    // Prepare
    const handler = lambdaHandler('instances', Input, async () => {
      countMetric(METRIC.instancesLaunched, 3);
      return {};
    });

    // Act
    await handler(event());

    // Assess
    const emf = lines.find((line) => line._aws) as Record<string, any>;
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'CapiDeploy',
      Metrics: [{ Name: 'InstancesLaunched', Unit: 'Count' }],
    });
    expect(emf.InstancesLaunched).toBe(3);
  });

  it('logs what it waits for shortly before the Lambda timeout', async () => {
    // Prepare
    vi.useFakeTimers();
    const handler = lambdaHandler('vpc', Input, () => new Promise((resolve) => setTimeout(resolve, 5_000)));
    const context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: 'capideploy-vpc',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:capideploy-vpc',
      memoryLimitInMB: '256',
      awsRequestId: 'req-1',
      logGroupName: '/aws/lambda/capideploy-vpc',
      logStreamName: 'stream',
      getRemainingTimeInMillis: () => 3_000,
    };

    // Act
    const running = handler(event(), context);
    await vi.advanceTimersByTimeAsync(5_000);
    await running;

    // Assess
    expect(lines.find((line) => line.message === 'function is about to time out')).toMatchObject({
      level: 'ERROR',
      function_request_id: 'req-1',
      waitingFor: [],
    });
  });
});
