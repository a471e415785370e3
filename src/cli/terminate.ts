import {
  DeleteNatGatewayCommand,
  DescribeNatGatewaysCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteInstanceProfileCommand, RemoveRoleFromInstanceProfileCommand } from '@aws-sdk/client-iam';
import { isNotFound } from '../../functions/shared/aws-errors.js';
import { type DeploymentContext, deploymentContext } from '../../functions/shared/context.js';
import { deploymentFilters } from '../../functions/shared/ec2.js';
import { describeFleet, LIVE_STATES } from '../../functions/shared/fleet.js';
import { type NodePlan, type Plan, planDeployment } from '../core/spec/plan.js';
import { useSimulatedAccount } from '../local/engine.js';
import { knownDeployments, loadDeploymentSpec, openLocalSession } from '../local/local-mode.js';
import { lockStateDir } from '../local/store.js';
import { runInVirtualTime } from '../sim/clock.js';
import { EXIT, type GlobalOptions } from './options.js';
import { BadInput } from './spec-file.js';

/**
 * `capi-deploy terminate <deployment> <node...>`: the operator actions AWS itself needs when a resource is stuck,
 * done against the simulated account, so local mode can follow every failure hint. A node (nickname `cass002` or
 * instance name `sample-cass002`) has its instances terminated; `natgw` deletes the NAT gateway; `instance-profile`
 * deletes the instance profile (its role removed first). Each waits until the resource is gone, as
 * `aws ec2 wait instance-terminated` / `nat-gateway-deleted` would, so the next `create` makes a new one.
 *
 * In AWS mode the command only prints the equivalent AWS CLI commands and exits 2: the CLI's operators hold Step
 * Functions permissions only (the workflow's Lambdas hold the EC2 and IAM ones, conditioned on the deployment's
 * tags), and a cross-account deployment's resources are not in the caller's account at all. The failure hint names
 * the same command with the exact instance or NAT gateway id.
 */

export interface TerminateOptions extends GlobalOptions {
  region?: string;
}

type Target = { kind: 'node'; node: NodePlan } | { kind: 'natgw' } | { kind: 'instance-profile' };

interface Outcome {
  target: string;
  ids: string[];
  /** terminated, deleted, none (nothing to remove: already gone), or in use (kept: instances depend on it). */
  result: 'terminated' | 'deleted' | 'none' | 'timed out' | 'in use';
}

/** How long a removal is waited for (virtual time), polling every few seconds as the AWS CLI waiters do. */
const WAIT_SECONDS = 900;
const POLL_SECONDS = 5;

const say = (line: string) => console.log(line);

/** `cass001..cass016` instead of sixteen names: a one-line list of a deployment's nodes. */
function nodeList(plan: Plan): string {
  const groups = new Map<string, string[]>();
  for (const { nickname } of plan.nodes) {
    const prefix = /^(\D+)\d+$/.exec(nickname)?.[1] ?? nickname;
    groups.set(prefix, [...(groups.get(prefix) ?? []), nickname]);
  }
  return [...groups.values()]
    .map((names) => (names.length > 2 ? `${names[0]}..${names.at(-1)}` : names.join(', ')))
    .join(', ');
}

function resolveTargets(plan: Plan, names: string[]): Target[] {
  const unknown: string[] = [];
  const targets = names.flatMap((name): Target[] => {
    const node = plan.nodes.find((candidate) => candidate.nickname === name || candidate.name === name);
    if (node) return [{ kind: 'node', node }];
    if (name === 'natgw' || name === plan.names.natGateway) return [{ kind: 'natgw' }];
    if (name === 'instance-profile' || name === plan.names.instanceProfile)
      return [{ kind: 'instance-profile' }];
    unknown.push(name);
    return [];
  });
  if (unknown.length > 0) {
    throw new BadInput([
      `deployment ${plan.deployment} has no node ${unknown.join(', ')} (nodes: ${nodeList(plan)}; or natgw, instance-profile)`,
    ]);
  }
  return targets;
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** Polls `done` until it holds or the wait runs out; true when it held. */
async function waitUntil(done: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; waited <= WAIT_SECONDS; waited += POLL_SECONDS) {
    if (await done()) return true;
    await sleep(POLL_SECONDS);
  }
  return false;
}

async function terminateNode(ctx: DeploymentContext, node: NodePlan): Promise<Outcome> {
  const live = async () => describeFleet(ctx, { name: node.name, states: LIVE_STATES });
  const ids = (await live()).map((instance) => instance.InstanceId!);
  if (ids.length === 0) return { target: node.name, ids, result: 'none' };
  // TerminateInstances is idempotent: an instance already shutting down is simply waited for.
  await ctx.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  const gone = await waitUntil(async () => (await live()).length === 0);
  return { target: node.name, ids, result: gone ? 'terminated' : 'timed out' };
}

async function deleteNatGateway(ctx: DeploymentContext): Promise<Outcome> {
  const { plan, clients } = ctx;
  const held = async () =>
    (
      (
        await clients.ec2.send(
          new DescribeNatGatewaysCommand({
            Filter: deploymentFilters(plan, { name: plan.names.natGateway }),
          }),
        )
      ).NatGateways ?? []
    ).filter((gateway) => ['pending', 'available', 'deleting'].includes(gateway.State ?? ''));
  const gateways = await held();
  const ids = gateways.map((gateway) => gateway.NatGatewayId!);
  if (ids.length === 0) return { target: plan.names.natGateway, ids, result: 'none' };
  for (const gateway of gateways.filter((candidate) => candidate.State !== 'deleting')) {
    await clients.ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: gateway.NatGatewayId }));
  }
  // Its elastic IP is free only once the gateway is deleted: the next create needs it.
  const gone = await waitUntil(async () => (await held()).length === 0);
  return { target: plan.names.natGateway, ids, result: gone ? 'deleted' : 'timed out' };
}

/**
 * Deletes the instance profile, the remedy for a profile EC2 keeps refusing, so no instance could launch with it.
 * One that live instances use is kept: on AWS they would lose their credentials, and with them their SSM agent.
 */
async function deleteInstanceProfile(ctx: DeploymentContext): Promise<Outcome> {
  const { plan, clients } = ctx;
  const InstanceProfileName = plan.names.instanceProfile;
  const users = (await describeFleet(ctx, { states: LIVE_STATES })).map((instance) => instance.InstanceId!);
  if (users.length > 0) return { target: InstanceProfileName, ids: users, result: 'in use' };
  const absent = async (call: () => Promise<unknown>) =>
    call().then(
      () => false,
      (error: unknown) => {
        if (isNotFound(error)) return true;
        throw error;
      },
    );
  await absent(() =>
    clients.iam.send(
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName, RoleName: plan.names.instanceRole }),
    ),
  );
  const none = await absent(() =>
    clients.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName })),
  );
  return { target: InstanceProfileName, ids: [InstanceProfileName], result: none ? 'none' : 'deleted' };
}

function remove(ctx: DeploymentContext, target: Target): Promise<Outcome> {
  if (target.kind === 'node') return terminateNode(ctx, target.node);
  return target.kind === 'natgw' ? deleteNatGateway(ctx) : deleteInstanceProfile(ctx);
}

function outcomeLine({ target, ids, result }: Outcome): string {
  if (result === 'none') return `  ${target}: nothing to remove (already gone)`;
  if (result === 'in use') {
    return `  ${target}: kept, in use by ${ids.join(', ')} (terminate those nodes first)`;
  }
  return `  ${target} ${ids.join(', ')}: ${result}`;
}

/** Local mode: removes the targets from the simulated account, holding the state dir's lock. */
async function terminateLocal(deployment: string, names: string[], options: TerminateOptions): Promise<void> {
  const spec = loadDeploymentSpec(options.stateDir, deployment);
  if (!spec) {
    const known = knownDeployments(options.stateDir);
    throw new BadInput([
      `no deployment named ${deployment} in ${options.stateDir}${known.length ? ` (known: ${known.join(', ')})` : ''}`,
    ]);
  }
  const targets = resolveTargets(planDeployment(spec), names);
  const release = lockStateDir(options.stateDir, `terminate ${deployment} ${names.join(' ')}`);
  try {
    const { account } = openLocalSession(options.stateDir, { writable: true });
    useSimulatedAccount(account);
    const start = Math.max(Date.now(), account.lastClock + 1000);
    const { result: outcomes, endMs } = await runInVirtualTime(start, async () => {
      const ctx = await deploymentContext(spec);
      const done: Outcome[] = [];
      for (const target of targets) done.push(await remove(ctx, target));
      return done;
    });
    account.save(options.stateDir, endMs);
    if (options.json) {
      say(JSON.stringify({ deployment, mode: 'local', removed: outcomes }, null, 2));
    } else {
      say(`terminate ${deployment} (local mode, state in ${options.stateDir})`);
      for (const outcome of outcomes) say(outcomeLine(outcome));
      if (outcomes.some((outcome) => outcome.result === 'terminated' || outcome.result === 'deleted')) {
        say('re-run create (capi-deploy create <spec> --local) to make new ones');
      }
    }
    const incomplete = outcomes.some(
      (outcome) => outcome.result === 'timed out' || outcome.result === 'in use',
    );
    process.exitCode = incomplete ? EXIT.failed : EXIT.ok;
  } finally {
    release();
  }
}

/** The AWS CLI commands that do the same on AWS, finding each resource by the deployment's tags. */
export function awsEquivalent(deployment: string, names: string[], region?: string): string[] {
  const where = region ? ` --region ${region}` : '';
  const own = `Name=tag:DeploymentName,Values=${deployment} Name=tag:DeploymentOperator,Values=capideploy`;
  // The resource names planDeployment gives (src/core/spec/plan.ts).
  return names.map((name) => {
    if (name === 'natgw' || name === `${deployment}_natgw`) {
      const find = `aws ec2 describe-nat-gateways${where} --filter ${own} Name=state,Values=pending,available --query 'NatGateways[].NatGatewayId' --output text`;
      return `id=$(${find}) && aws ec2 delete-nat-gateway${where} --nat-gateway-id $id && aws ec2 wait nat-gateway-deleted${where} --nat-gateway-ids $id`;
    }
    if (name === 'instance-profile' || name === `capideploy-${deployment}-instance`) {
      const profile = `capideploy-${deployment}-instance`;
      return `aws iam remove-role-from-instance-profile --instance-profile-name ${profile} --role-name ${profile} && aws iam delete-instance-profile --instance-profile-name ${profile}`;
    }
    const instanceName = name.startsWith(`${deployment}-`) ? name : `${deployment}-${name}`;
    const find = `aws ec2 describe-instances${where} --filters ${own} Name=tag:Name,Values=${instanceName} Name=instance-state-name,Values=pending,running,stopping,stopped --query 'Reservations[].Instances[].InstanceId' --output text`;
    return `ids=$(${find}) && aws ec2 terminate-instances${where} --instance-ids $ids && aws ec2 wait instance-terminated${where} --instance-ids $ids`;
  });
}

/** The command: local mode acts; AWS mode names the AWS CLI commands and exits 2 (see the module comment). */
export async function terminate(
  deployment: string,
  names: string[],
  options: TerminateOptions,
): Promise<void> {
  if (options.local) return terminateLocal(deployment, names, options);
  throw new BadInput([
    'terminate acts on the local simulated account only (add --local); on AWS, run what the failure hint names, or:',
    ...awsEquivalent(deployment, names, options.region).map((command) => `  ${command}`),
  ]);
}
