import { describe, expect, it } from 'vitest';
import { costTable, totalLine } from '../../src/cli/output.js';
import type { InventoryItem } from '../../src/core/inventory.js';
import { FLAVORS, INSTANCE_VCPUS } from '../../src/core/spec/flavors.js';
import { estimateCost, formatUsd, isBilled, toHourlyCost } from '../../src/cost/estimate.js';
import {
  GP3_GIB_MONTH_USD,
  INSTANCE_HOURLY_USD,
  NAT_GATEWAY_HOURLY_USD,
  PRICED_REGIONS,
  PUBLIC_IPV4_HOURLY_USD,
} from '../../src/cost/prices.js';

const item = (type: string, state: string, extra: Partial<InventoryItem> = {}): InventoryItem => ({
  type,
  id: `${type}-1`,
  name: `${type}-name`,
  state,
  billed: true,
  ...extra,
});

describe('the price table', () => {
  it('prices every instance type of every flavor in every priced region', () => {
    // Arrange
    const types = new Set(
      Object.values(FLAVORS).flatMap((flavor) => [
        flavor.bastion,
        flavor.cassandra,
        flavor.daemon,
        flavor.prometheus,
        flavor.rabbitmq,
      ]),
    );
    for (const type of Object.keys(INSTANCE_VCPUS)) types.add(type);
    // Act
    const missing = PRICED_REGIONS.flatMap((region) =>
      [...types]
        .filter((type) => !(INSTANCE_HOURLY_USD[region][type] > 0))
        .map((type) => `${region} ${type}`),
    );
    // Assert
    expect(missing).toEqual([]);
  });

  it('scales linearly with size within a family, as AWS lists it', () => {
    for (const region of PRICED_REGIONS) {
      const prices = INSTANCE_HOURLY_USD[region];
      expect(prices['c6a.xlarge']).toBeCloseTo(2 * prices['c6a.large'], 3);
      expect(prices['c7gd.16xlarge']).toBeCloseTo(16 * prices['c7gd.xlarge'], 2);
      expect(prices['t3.medium']).toBeCloseTo(4 * prices['t3.micro'], 3);
    }
  });
});

describe('estimateCost', () => {
  it('bills running and pending instances, not stopped ones, at the price of their type', () => {
    // Arrange
    const items = [
      item('instance', 'running', { id: 'i-1', size: 'c7g.large' }),
      item('instance', 'pending', { id: 'i-2', size: 't3.micro' }),
      item('instance', 'stopped', { id: 'i-3', size: 'c7g.large', billed: false }),
      item('instance', 'stopping', { id: 'i-4', size: 'c7g.large', billed: false }),
    ];
    // Act
    const estimate = estimateCost(items, 'us-east-1');
    // Assert
    expect(estimate.items.map((costed) => [costed.id, costed.billed, costed.hourlyUsd])).toEqual([
      ['i-1', true, INSTANCE_HOURLY_USD['us-east-1']['c7g.large']],
      ['i-2', true, INSTANCE_HOURLY_USD['us-east-1']['t3.micro']],
      ['i-3', false, 0],
      ['i-4', false, 0],
    ]);
    expect(estimate.hourlyUsd).toBeCloseTo(0.0725 + 0.0104, 6);
    expect(estimate.complete).toBe(true);
  });

  it("bills a stopped instance's volume by its size (gp3 per GiB-month over 730 hours)", () => {
    // Arrange
    const items = [
      item('instance', 'stopped', { size: 'c7g.large', billed: false }),
      item('volume', 'in-use', { id: 'vol-1', size: '100' }),
      item('volume', 'available', { id: 'vol-2', size: '20' }),
      item('volume', 'creating', { id: 'vol-3', size: '8' }),
      item('volume', 'deleting', { id: 'vol-4', size: '100', billed: false }),
    ];
    // Act
    const estimate = estimateCost(items, 'eu-central-1');
    // Assert
    const perGibHour = GP3_GIB_MONTH_USD['eu-central-1'] / 730;
    expect(estimate.items.map((costed) => costed.billed)).toEqual([false, true, true, true, false]);
    expect(estimate.items[1].hourlyUsd).toBeCloseTo(100 * perGibHour, 6);
    expect(estimate.items[4].hourlyUsd).toBe(0);
    expect(estimate.hourlyUsd).toBeCloseTo(128 * perGibHour, 5);
  });

  it('bills a NAT gateway while pending or available, and every elastic IP', () => {
    // Arrange
    const items = [
      item('natgateway', 'pending', { id: 'nat-1' }),
      item('natgateway', 'available', { id: 'nat-2' }),
      item('natgateway', 'deleting', { id: 'nat-3', billed: false }),
      item('elastic-ip', '203.0.113.7', { id: 'eipalloc-1' }),
    ];
    // Act
    const estimate = estimateCost(items, 'eu-west-1');
    // Assert
    expect(estimate.items.map((costed) => costed.hourlyUsd)).toEqual([
      NAT_GATEWAY_HOURLY_USD['eu-west-1'],
      NAT_GATEWAY_HOURLY_USD['eu-west-1'],
      0,
      PUBLIC_IPV4_HOURLY_USD,
    ]);
    expect(estimate.hourlyUsd).toBeCloseTo(2 * 0.048 + 0.005, 6);
  });

  it('shows network, IAM and SSM resources at no hourly charge, keeping capideploy billed flags', () => {
    // Arrange
    const items = [
      item('vpc', 'available'),
      item('subnet', 'available'),
      item('security-group', 'present'),
      item('route-table', '2 routes'),
      item('internet-gateway', '1 attachments'),
      item('role', 'present', { billed: false }),
      item('parameter', 'SecureString', { billed: false }),
    ];
    // Act
    const estimate = estimateCost(items, 'us-west-2');
    // Assert
    expect(estimate.items.map((costed) => [costed.type, costed.billed, costed.hourlyUsd])).toEqual([
      ['vpc', true, 0],
      ['subnet', true, 0],
      ['security-group', true, 0],
      ['route-table', true, 0],
      ['internet-gateway', true, 0],
      ['role', false, 0],
      ['parameter', false, 0],
    ]);
    expect(estimate.hourlyUsd).toBe(0);
  });

  it('gives an unknown instance type a null cost and a note, and totals the rest', () => {
    // Arrange
    const items = [
      item('instance', 'running', { id: 'i-odd', size: 'x9z.mega' }),
      item('instance', 'running', { id: 'i-ok', size: 'c6a.large' }),
    ];
    // Act
    const estimate = estimateCost(items, 'us-east-2');
    // Assert
    expect(estimate.items[0]).toMatchObject({ hourlyUsd: null, note: expect.stringContaining('x9z.mega') });
    expect(estimate.hourlyUsd).toBe(INSTANCE_HOURLY_USD['us-east-2']['c6a.large']);
    expect(estimate.complete).toBe(false);
    expect(estimate.notes).toEqual([expect.stringContaining('i-odd')]);
    expect(totalLine(estimate)).toContain('at least');
  });

  it('gives null costs with a note in a region the table does not cover, elastic IPs excepted', () => {
    // Act
    const estimate = estimateCost(
      [item('instance', 'running', { size: 't3.micro' }), item('elastic-ip', '203.0.113.9')],
      'ap-south-1',
    );
    // Assert
    expect(estimate.items.map((costed) => costed.hourlyUsd)).toEqual([null, PUBLIC_IPV4_HOURLY_USD]);
    expect(estimate.items[0].note).toContain('ap-south-1');
  });

  it('totals a sample cluster and groups it per type and size for the report', () => {
    // Arrange: the sample (aws.arm64.c7g.8, 4 Cassandra nodes, 4 daemons) running
    const flavor = FLAVORS['aws.arm64.c7g.8'];
    const instances = [
      flavor.bastion,
      flavor.prometheus,
      flavor.rabbitmq,
      ...Array(4).fill(flavor.cassandra),
      ...Array(4).fill(flavor.daemon),
    ].map((type, index) => item('instance', 'running', { id: `i-${index}`, size: type }));
    const items = [
      ...instances,
      item('natgateway', 'available'),
      item('elastic-ip', '1.2.3.4', { id: 'eip-1' }),
      item('elastic-ip', '1.2.3.5', { id: 'eip-2' }),
    ];
    // Act
    const estimate = estimateCost(items, 'us-east-1');
    const report = toHourlyCost(estimate);
    // Assert
    const prices = INSTANCE_HOURLY_USD['us-east-1'];
    const expected =
      prices['c7g.large'] +
      2 * prices['c7g.medium'] +
      4 * prices['c7gd.2xlarge'] +
      4 * prices['c7g.large'] +
      0.045 +
      2 * 0.005;
    expect(estimate.hourlyUsd).toBeCloseTo(expected, 6);
    expect(report.total).toBe(estimate.hourlyUsd);
    expect(report.items?.find((line) => line.type === 'c7gd.2xlarge')).toMatchObject({
      name: 'instance',
      count: 4,
    });
    expect(report.items?.find((line) => line.name === 'elastic-ip')).toMatchObject({
      count: 2,
      hourly: 0.01,
    });
    expect(report.items?.reduce((sum, line) => sum + line.hourly, 0)).toBeCloseTo(report.total, 6);
  });
});

describe('the status table', () => {
  it('prints type, id, name, state, billed and $/hour per resource, then the total', () => {
    // Arrange
    const estimate = estimateCost(
      [
        item('instance', 'running', { id: 'i-1', name: 'cass001', size: 'c7gd.2xlarge' }),
        item('vpc', 'available'),
      ],
      'us-east-1',
    );
    // Act
    const lines = costTable(estimate);
    // Assert
    expect(lines[0]).toMatch(/TYPE\s+ID\s+NAME\s+STATE\s+BILLED\s+\$\/HOUR/);
    expect(lines[1]).toMatch(/instance\s+i-1\s+cass001\s+running\s+yes\s+\$0\.3628/);
    expect(lines[2]).toMatch(/vpc\s+vpc-1\s+vpc-name\s+available\s+yes\s+-$/);
    expect(lines[3]).toBe('  total: $0.3628/hour (about $261.22 per 30-day month) in us-east-1');
  });

  it('formats costs', () => {
    expect(formatUsd(null)).toBe('n/a');
    expect(formatUsd(0)).toBe('-');
    expect(formatUsd(0.0052)).toBe('$0.0052');
  });

  it('follows capideploy billing for states the inventory may not have flagged', () => {
    expect(isBilled({ type: 'instance', state: 'running', billed: false })).toBe(true);
    expect(isBilled({ type: 'natgateway', state: 'failed', billed: true })).toBe(false);
    expect(isBilled({ type: 'instance-profile', state: 'present', billed: false })).toBe(false);
  });
});
