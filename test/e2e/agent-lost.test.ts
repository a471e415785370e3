import { describe, expect, it } from 'vitest';
import { renderHistory } from '../../src/report/history.js';
import type { SimulatedAccount } from '../../src/sim/account.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { newStateDir, run, sampleSpec } from './harness.js';

/** The rule that keeps an agent from pinging SSM (as in the README's troubleshooting table), for cass002. */
const AGENT_OFFLINE: FaultRule = {
  service: 'SSM',
  operation: 'UpdateInstanceInformation',
  target: 'cass002',
  error: 'AccessDeniedException',
  times: -1,
};

/**
 * cass002's agent goes ConnectionLost right after "Check SSM agents" found every agent Online: from the first
 * SendCommand on, the agent-offline rule applies. A plain fault rule cannot express "from then on" (it would fail
 * the run earlier, at "Check SSM agents"), so the test wraps the account's fault injector.
 */
function loseCass002AgentOnFirstCommand(account: SimulatedAccount): void {
  const take = account.faults.take.bind(account.faults);
  let commandSent = false;
  account.faults.take = (query, kind) => {
    if (query.service === 'SSM' && query.operation === 'SendCommand') commandSent = true;
    const lost =
      commandSent &&
      kind === 'error' &&
      query.operation === 'UpdateInstanceInformation' &&
      query.targets.some((target) => target.endsWith('cass002'));
    return lost ? AGENT_OFFLINE : take(query, kind);
  };
}

describe('an SSM agent lost after the readiness check', () => {
  it('fails provisioning once the command delivery times out, naming the node', async () => {
    const record = await run(
      newStateDir(),
      'create-deployment',
      sampleSpec,
      [],
      undefined,
      loseCass002AgentOnFirstCommand,
    );

    expect(record.status).toBe('FAILED');
    const text = renderHistory(record).join('\n');
    const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*)$`, 'm').exec(text)?.[1] ?? '';
    expect(field('error')).toBe('CommandFailed');
    expect(field('resource')).toMatch(/^node cass002 \(capi-cassandra-install\)$/);
    // SSM accepted the command and held it (Delayed) until the delivery timeout: TimedOut, Delivery Timed Out.
    expect(field('AWS code')).toBe('TimedOut');
    expect(field('id')).toMatch(/^i-[0-9a-f]+$/);
    expect(field('hint')).toMatch(
      /^SSM never delivered the command \(Delivery Timed Out\): the node's SSM agent is offline/,
    );
  });
});
