import { describe, expect, it } from 'vitest';
import { Ec2Throttle, requestBucket } from '../../src/sim/throttle.js';

/** EC2's token buckets (reference/aws-behaviour-2.md §1b): per account and Region, per API or category. */
const scope = { accountId: '123456789012', region: 'us-east-1' };
const run = (count = 1) => ({ MinCount: count, MaxCount: count });

describe('EC2 request-rate buckets', () => {
  it('admits a burst of 5 RunInstances, refuses the 6th, and refills 2 a second', () => {
    // Arrange
    const throttle = new Ec2Throttle();
    // Act
    const burst = Array.from({ length: 6 }, () => throttle.admit(scope, 'RunInstances', run(), 0));
    const afterHalfSecond = throttle.admit(scope, 'RunInstances', run(), 499);
    const afterOneSecond = [
      throttle.admit(scope, 'RunInstances', run(), 1000),
      throttle.admit(scope, 'RunInstances', run(), 1000),
      throttle.admit(scope, 'RunInstances', run(), 1000),
    ];
    // Assert
    expect(burst).toEqual([true, true, true, true, true, false]);
    expect(afterHalfSecond).toBe(false);
    expect(afterOneSecond).toEqual([true, true, false]);
    expect(throttle.throttled.RunInstances).toBe(3);
  });

  it('keeps each API and each account and Region apart', () => {
    // Arrange
    const throttle = new Ec2Throttle();
    for (let i = 0; i < 5; i++) throttle.admit(scope, 'RunInstances', run(), 0);
    // Act / Assert
    expect(throttle.admit(scope, 'RunInstances', run(), 0)).toBe(false);
    expect(throttle.admit(scope, 'CreateVpc', {}, 0)).toBe(true);
    expect(throttle.admit({ ...scope, region: 'eu-west-1' }, 'RunInstances', run(), 0)).toBe(true);
    expect(throttle.admit({ ...scope, accountId: '210987654321' }, 'RunInstances', run(), 0)).toBe(true);
  });

  it('also counts instances: the RunInstances resource bucket holds 1,000 and refills 2 a second', () => {
    // Arrange
    const throttle = new Ec2Throttle();
    // Act
    const big = throttle.admit(scope, 'RunInstances', run(1000), 0);
    const one = throttle.admit(scope, 'RunInstances', run(1), 0);
    const later = throttle.admit(scope, 'RunInstances', run(1), 500);
    // Assert: the request bucket has tokens left; the resource bucket has none, then one.
    expect([big, one, later]).toEqual([true, false, true]);
  });

  it('puts TerminateInstances of 1,000 ids through, then 20 instances a second', () => {
    const throttle = new Ec2Throttle();
    const ids = (n: number) => ({ InstanceIds: Array.from({ length: n }, (_, i) => `i-${i}`) });
    expect(throttle.admit(scope, 'TerminateInstances', ids(1000), 0)).toBe(true);
    expect(throttle.admit(scope, 'TerminateInstances', ids(100), 1000)).toBe(false);
    expect(throttle.admit(scope, 'TerminateInstances', ids(100), 5000)).toBe(true);
  });

  it('sorts calls into the documented categories', () => {
    expect(requestBucket('DescribeInstances', {})[1]).toEqual({ max: 50, refillPerSecond: 10 });
    expect(requestBucket('DescribeInstances', { Filters: [{ Name: 'tag:Name', Values: ['x'] }] })[1]).toEqual(
      {
        max: 100,
        refillPerSecond: 20,
      },
    );
    expect(requestBucket('DescribeVpcs', {})[1]).toEqual({ max: 100, refillPerSecond: 20 });
    expect(requestBucket('CreateVpc', {})[0]).toBe('mutating');
    expect(requestBucket('AuthorizeSecurityGroupIngress', {})[0]).toBe('resource-intensive');
    expect(requestBucket('CreateNatGateway', {})[1]).toEqual({ max: 10, refillPerSecond: 1 });
  });

  it('admits everything when off (accounts outside the virtual clock)', () => {
    const throttle = new Ec2Throttle(false);
    expect(Array.from({ length: 20 }, () => throttle.admit(scope, 'RunInstances', run(), 0))).not.toContain(
      false,
    );
  });
});
