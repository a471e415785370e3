import { WaitTimedOut } from '../../src/core/errors.js';
import { tagValue } from '../../src/core/tags.js';
import type { DeploymentContext } from '../shared/context.js';
import { surplusInstances } from '../shared/fleet.js';
import { terminateNodesCommands } from '../shared/remedies.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';
import { terminateRunning } from './instances.js';

/**
 * Resize: the instances of nodes the plan no longer has (removed daemons, drained; removed Cassandra nodes,
 * decommissioned) are terminated, and the wait loop asks again until they are. Each round terminates what still runs,
 * so an instance EC2 throttled or had not listed yet is terminated by the next round.
 */
export async function surplusTerminated(
  ctx: DeploymentContext,
  round: Round = {},
): Promise<{ allTerminated: boolean; remaining: number; waiting: string[] }> {
  const live = await surplusInstances(ctx);
  const nicknames = live.map((instance) => ({
    nickname: tagValue(instance.Tags, 'Nickname') ?? instance.InstanceId!,
    instanceId: instance.InstanceId,
  }));
  if (live.length > 0 && isLastRound(round)) {
    throw new WaitTimedOut({
      resource: nicknames.map(({ nickname }) => `instance ${nickname}`).join(', '),
      id: live[0].InstanceId,
      message: `removed nodes still not terminated ${roundsText(round)}: ${nicknames.map(({ nickname, instanceId }) => `${nickname} (${instanceId})`).join(', ')}`,
      hint: `Terminate them and wait (${terminateNodesCommands(ctx.plan, nicknames)}), then run create again.`,
    });
  }
  await terminateRunning(ctx, live);
  return {
    allTerminated: live.length === 0,
    remaining: live.length,
    waiting: nicknames.map(({ nickname }) => nickname),
  };
}
