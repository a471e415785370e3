import { describe, expect, it } from 'vitest';
import { machineBaseName } from '../../src/core/catalogue.js';
import { loadMachineShape, shapeOf } from '../../src/report/machine.js';

describe('loadMachineShape', () => {
  it('counts the Task states of a normal create, not the failure handling', () => {
    // Act
    const shape = loadMachineShape('create-deployment')!;

    // Assess
    expect(shape.tasks).toContain('Check NAT gateway state');
    expect(shape.tasks).toContain('Judge cluster health');
    expect(shape.tasks).not.toContain('Delete everything after failure');
    expect(new Set(shape.tasks).size).toBe(shape.tasks.length);
  });

  it('puts the states of one poll loop in one loop, and each Parallel branch in its own lane', () => {
    // Act
    const shape = loadMachineShape('create-deployment')!;

    // Assess
    const natLoop = shape.loopOf['Check NAT gateway state'];
    expect(natLoop).toBeDefined();
    expect(shape.loopOf['Wait for NAT gateway']).toBe(natLoop);
    expect(shape.loopOf['Is the NAT gateway available?']).toBe(natLoop);
    expect(shape.loopOf['Create NAT gateway']).toBeUndefined();
    expect(shape.loopOf['Check instances state']).not.toBe(natLoop);
    expect(shape.laneOf['Check NAT gateway state']).not.toBe(shape.laneOf['Check instances state']);
    expect(shape.laneOf['Check SSM agents']).toBe('');
  });

  it('adds the loops of the delete machine that a failed create starts', () => {
    // Act
    const shape = loadMachineShape('CapiDeploy-create-deployment')!;

    // Assess
    expect(shape.loopOf['Check NAT gateway deleted']).toBeDefined();
    expect(shape.tasks).not.toContain('Check NAT gateway deleted');
  });

  it('returns null for a machine without an ASL file', () => {
    expect(loadMachineShape('no-such-machine')).toBeNull();
  });
});

describe('machineBaseName', () => {
  it('strips the stack prefix of our machines only', () => {
    expect(machineBaseName('CapiDeploy-delete-deployment')).toBe('delete-deployment');
    expect(machineBaseName('create-deployment')).toBe('create-deployment');
    expect(machineBaseName('other')).toBe('other');
  });
});

describe('shapeOf', () => {
  it('finds a self-loop and ignores Catch edges', () => {
    // Act
    const shape = shapeOf({
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Next: 'A', Catch: [{ Next: 'Handler' }] },
        Handler: { Type: 'Task', End: true },
      },
    });

    // Assess
    expect(shape.loopOf).toEqual({ A: '/A' });
    expect(shape.tasks).toEqual(['A']);
  });
});
