import { createHash } from 'node:crypto';
import { CreateTagsCommand, type Instance } from '@aws-sdk/client-ec2';
import {
  type CommandInvocation,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { commandEvidence } from '../../src/core/cluster-logs.js';
import { documentParameters } from '../../src/core/documents.js';
import { CommandFailed, CommandTimedOut, ProvisioningFailed } from '../../src/core/errors.js';
import { COMMAND_DELIVERY_SECONDS, PHASES, type PhaseName, type PhaseStep } from '../../src/core/phases.js';
import type { NodePlan } from '../../src/core/spec/plan.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall } from '../shared/aws-errors.js';
import { CLUSTER_SIZE_TAG, provisionedTag } from '../shared/cassandra-ring.js';
import type { DeploymentContext } from '../shared/context.js';
import { describeFleet, settleWithLimit, surplusInstances, surplusNode } from '../shared/fleet.js';
import { countMetric, logger, METRIC } from '../shared/observability.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

/** SendCommand accepts at most 50 instance ids per call. */
export const MAX_TARGETS_PER_COMMAND = 50;
/** SendCommand calls in flight at once. */
const SEND_CONCURRENCY = 5;
const STDERR_TAIL_LINES = 15;

/** One SendCommand call, as carried in the execution state: small, whatever the fleet size. */
export interface SentCommand {
  commandId: string;
  document: string;
  /** The health check it runs, for capi-health-check commands. */
  check?: string;
  instances: number;
  /** The instances the command was sent to: completion is judged per requested instance. */
  instanceIds?: string[];
  /** Hash of the parameters, tagged on the nodes where it succeeded so a re-run can skip them. */
  parametersHash: string;
}

export interface SendResult {
  phase: PhaseName;
  commands: SentCommand[];
  /** Nodes skipped because this exact document and parameters already succeeded there. */
  skipped: number;
}

export interface CommandSettings {
  outputBucket?: string;
  logVolumeId?: string;
  /** Only these nodes (Name tags): a resize joins or decommissions one Cassandra node at a time. */
  nodes?: string[];
}

const hashOf = (parameters: Record<string, string[]>) =>
  createHash('sha256').update(JSON.stringify(parameters)).digest('hex').slice(0, 16);

/** The fleet's running instances by Name tag (or instance id, for an untagged one). */
async function runningInstances(ctx: DeploymentContext): Promise<Map<string, Instance>> {
  const instances = await describeFleet(ctx, { states: ['running'] });
  return new Map(
    instances.map((instance) => [tagValue(instance.Tags, 'Name') ?? instance.InstanceId!, instance]),
  );
}

/** The nodes a step runs on: the planned nodes of its roles, or the removed ones for a surplus step. */
async function stepNodes(
  ctx: DeploymentContext,
  step: PhaseStep,
  only: string[] | undefined,
): Promise<NodePlan[]> {
  const nodes = step.surplus
    ? (await surplusInstances(ctx, step.roles)).map((instance) => surplusNode(ctx, instance))
    : ctx.plan.nodes.filter((node) => step.roles.includes(node.role));
  const chosen = only ? nodes.filter((node) => only.includes(node.name)) : nodes;
  return step.firstNodeOnly ? chosen.slice(0, 1) : chosen;
}

/** Groups a step's nodes by identical parameters, skipping nodes where the same run already succeeded. */
async function plannedTargets(
  ctx: DeploymentContext,
  step: PhaseStep,
  fleet: Map<string, Instance>,
  settings: CommandSettings,
) {
  const groups = new Map<string, { parameters: Record<string, string[]>; instanceIds: string[] }>();
  let skipped = 0;
  for (const node of await stepNodes(ctx, step, settings.nodes)) {
    const instance = fleet.get(node.name);
    if (!instance && step.runningOnly) {
      skipped += 1;
      continue;
    }
    if (!instance) {
      throw new ProvisioningFailed({
        resource: `instance ${node.name}`,
        message: `${node.nickname} is not running, so ${step.document} cannot run on it`,
        hint: 'Re-run create: it relaunches missing instances before provisioning.',
      });
    }
    const parameters = {
      ...documentParameters(ctx.plan, step.document, node, { logVolumeId: settings.logVolumeId }),
      ...step.parameters,
    };
    const hash = hashOf(parameters);
    if (!step.always && tagValue(instance.Tags, provisionedTag(step.document)) === hash) {
      skipped += 1;
      continue;
    }
    const group = groups.get(hash) ?? { parameters, instanceIds: [] as string[] };
    group.instanceIds.push(instance.InstanceId!);
    groups.set(hash, group);
  }
  return { groups, skipped };
}

/**
 * Sends one phase's documents to the fleet, at most 50 instances per SendCommand, five commands at once, and returns
 * the command ids to poll. No secret is ever a parameter: the nodes read them from Parameter Store with their own role.
 */
export async function sendPhase(
  ctx: DeploymentContext,
  phase: PhaseName,
  settings: CommandSettings,
): Promise<SendResult> {
  const fleet = await runningInstances(ctx);
  let skipped = 0;
  const batches: {
    step: PhaseStep;
    parametersHash: string;
    parameters: Record<string, string[]>;
    instanceIds: string[];
  }[] = [];
  for (const step of PHASES[phase] as readonly PhaseStep[]) {
    const planned = await plannedTargets(ctx, step, fleet, settings);
    skipped += planned.skipped;
    for (const [parametersHash, group] of planned.groups) {
      for (let i = 0; i < group.instanceIds.length; i += MAX_TARGETS_PER_COMMAND) {
        const instanceIds = group.instanceIds.slice(i, i + MAX_TARGETS_PER_COMMAND);
        batches.push({ step, parametersHash, parameters: group.parameters, instanceIds });
      }
    }
  }
  // A fleet of 2,000 nodes is some 40 commands a phase, a second each: a few at once keep the run short.
  const outcomes = await settleWithLimit(
    batches,
    SEND_CONCURRENCY,
    async ({ step, parametersHash, parameters, instanceIds }): Promise<SentCommand> => {
      const sent = await awsCall({ resource: `command ${step.document}`, id: instanceIds[0] }, () =>
        ctx.clients.ssm.send(
          new SendCommandCommand({
            DocumentName: step.document,
            InstanceIds: instanceIds,
            Parameters: parameters,
            TimeoutSeconds: COMMAND_DELIVERY_SECONDS,
            Comment: `${ctx.plan.deployment} ${phase} ${step.document}`.slice(0, 100),
            ...(settings.outputBucket
              ? {
                  OutputS3BucketName: settings.outputBucket,
                  OutputS3KeyPrefix: `${ctx.plan.deployment}/${phase}`,
                }
              : {}),
          }),
        ),
      );
      countMetric(METRIC.commandsSent);
      logger.info('command sent', {
        document: step.document,
        commandId: sent.Command?.CommandId,
        instances: instanceIds.length,
      });
      return {
        commandId: sent.Command!.CommandId!,
        document: step.document,
        ...(step.parameters?.Check ? { check: step.parameters.Check[0] } : {}),
        instances: instanceIds.length,
        instanceIds,
        parametersHash,
      };
    },
  );
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const commands = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<SentCommand>).value);
  return { phase, commands, skipped };
}

const FINISHED_BAD = new Set([
  'Failed',
  'TimedOut',
  'Cancelled',
  'Undeliverable',
  'Terminated',
  'Delivery Timed Out',
  'Execution Timed Out',
]);

async function invocationsOf(
  { clients }: DeploymentContext,
  command: SentCommand,
): Promise<CommandInvocation[]> {
  const invocations: CommandInvocation[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall({ resource: `command ${command.document}`, id: command.commandId }, () =>
      clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: command.commandId, NextToken: token })),
    );
    invocations.push(...(page.CommandInvocations ?? []));
    token = page.NextToken;
  } while (token);
  return invocations;
}

/** Marks nodes where a document succeeded, so a re-run after a failure does not provision them again. */
async function tagSucceeded(ctx: DeploymentContext, command: SentCommand, instanceIds: string[]) {
  if (instanceIds.length === 0 || command.check) return;
  const tags = [{ Key: provisionedTag(command.document), Value: command.parametersHash }];
  if (command.document === 'capi-cassandra-configure') {
    tags.push({ Key: CLUSTER_SIZE_TAG, Value: String(ctx.plan.cassandra.hosts.length) });
  }
  await awsCall({ resource: `instances provisioned by ${command.document}` }, () =>
    ctx.clients.ec2.send(new CreateTagsCommand({ Resources: instanceIds, Tags: tags })),
  );
}

async function commandFailure(ctx: DeploymentContext, command: SentCommand, failed: CommandInvocation[]) {
  const first = failed[0];
  const detail = await awsCall({ resource: `command ${command.document}`, id: command.commandId }, () =>
    ctx.clients.ssm.send(
      new GetCommandInvocationCommand({ CommandId: command.commandId, InstanceId: first.InstanceId }),
    ),
  );
  const fleet = await runningInstances(ctx);
  const nameOf = (instanceId?: string) => {
    const name =
      [...fleet].find(([, instance]) => instance.InstanceId === instanceId)?.[0] ?? instanceId ?? '?';
    return name.replace(`${ctx.plan.deployment}-`, '');
  };
  const node = nameOf(first.InstanceId);
  const stderrTail = (detail.StandardErrorContent ?? '')
    .trimEnd()
    .split('\n')
    .slice(-STDERR_TAIL_LINES)
    .join('\n');
  const timedOut = (first.Status ?? '').includes('Timed');
  // The node's logs in CloudWatch (the agent ships them; local mode's nodes write them): where the evidence is.
  const logs = commandEvidence(ctx.plan.deployment, node, command.document);
  logger.error('command failed', {
    node,
    document: command.document,
    commandId: command.commandId,
    status: first.Status,
    logGroup: logs.group,
    logStreams: logs.streams,
  });
  // SSM's StatusDetails tell a command never delivered (the agent offline) from a script that ran too long.
  const undelivered = /Delivery Timed Out|Undeliverable/.test(first.StatusDetails ?? '');
  return new CommandFailed({
    resource: `node ${node} (${command.document})`,
    id: first.InstanceId ?? null,
    // The invocation status (Failed, TimedOut, Cancelled) is SSM's code for how the command ended.
    awsError: first.Status ?? null,
    message: `${command.document} ${first.Status} on ${node} with exit code ${detail.ResponseCode}${stderrTail ? `: ${stderrTail.split('\n').pop()}` : ''}`,
    hint: undelivered
      ? `SSM never delivered the command (${first.StatusDetails}): the node's SSM agent is offline. Check the instance is running and its route to the NAT gateway, then re-run create to resume.`
      : timedOut
        ? 'The script ran past its timeout: check the node with Session Manager, then re-run create to resume.'
        : `Read the stderr tail and the node's logs in CloudWatch Logs group ${logs.group}, streams ${logs.streams.join(' and ')}: \`${logs.command}\` (add --local for a local deployment; full output in the command output bucket). Fix the cause, then re-run create: nodes that succeeded are skipped.`,
    details: {
      node,
      instanceId: first.InstanceId,
      commandId: command.commandId,
      document: command.document,
      status: first.Status,
      exitCode: detail.ResponseCode,
      stderrTail,
      failedNodes: failed.slice(0, 10).map((invocation) => nameOf(invocation.InstanceId)),
      logs,
    },
  });
}

/** The node name of an instance of the fleet, without the deployment prefix (`cass002`). */
async function nodeNames(ctx: DeploymentContext): Promise<(instanceId: string) => string> {
  const fleet = await describeFleet(ctx);
  const names = new Map(
    fleet.map((instance) => [instance.InstanceId!, tagValue(instance.Tags, 'Name') ?? instance.InstanceId!]),
  );
  return (instanceId) => (names.get(instanceId) ?? instanceId).replace(`${ctx.plan.deployment}-`, '');
}

interface Unfinished {
  command: SentCommand;
  instanceId: string;
  /** The last status SSM reported: Status (StatusDetails), or `not registered` when no invocation is listed yet. */
  status: string;
}

/** The loop's bound is reached: the first unfinished node, its instance, document and last status, and the others. */
async function commandTimedOut(ctx: DeploymentContext, unfinished: Unfinished[], round: Round) {
  const nodeOf = await nodeNames(ctx);
  const first = unfinished[0];
  const node = nodeOf(first.instanceId);
  const nodes = unfinished.slice(0, 10).map((entry) => ({
    node: nodeOf(entry.instanceId),
    instanceId: entry.instanceId,
    document: entry.command.document,
    lastStatus: entry.status,
  }));
  return new CommandTimedOut({
    resource: `node ${node} (${first.command.document})`,
    id: first.instanceId,
    awsError: first.status,
    message: `${first.command.document} never finished on ${node} (${first.instanceId}) ${roundsText(round)}; last status ${first.status}${
      unfinished.length > 1
        ? `; ${unfinished.length - 1} more unfinished: ${nodes
            .slice(1)
            .map((entry) => `${entry.node} ${entry.lastStatus}`)
            .join(', ')}`
        : ''
    }`,
    hint: `SSM reported no terminal status past the command's delivery and execution timeouts. Look at the node with Session Manager (is the SSM agent running? \`aws ssm list-command-invocations --region ${ctx.plan.region} --command-id ${first.command.commandId} --instance-id ${first.instanceId}\`), cancel the command (\`aws ssm cancel-command --command-id ${first.command.commandId}\`) or replace the node, then re-run create: nodes that succeeded are skipped.`,
    details: {
      node,
      instanceId: first.instanceId,
      commandId: first.command.commandId,
      document: first.command.document,
      lastStatus: first.status,
      unfinished: nodes,
    },
  });
}

/**
 * One status round for a phase: one ListCommandInvocations per command (≤ 50 nodes each), judged per requested
 * instance: an instance with no invocation listed yet is unfinished, never failed. A failed node fails the step with
 * node, instance id, command id, exit code and the tail of stderr; health checks report through their output
 * instead. In the loop's last round an unfinished node is a CommandTimedOut naming it.
 */
export async function phaseStatus(ctx: DeploymentContext, commands: SentCommand[], round: Round = {}) {
  let succeeded = 0;
  let finished = 0;
  const total = commands.reduce((sum, command) => sum + command.instances, 0);
  const succeededIds = new Map<SentCommand, string[]>();
  const unfinished: Unfinished[] = [];
  for (const command of commands) {
    const listed = await invocationsOf(ctx, command);
    const byInstance = new Map(listed.map((invocation) => [invocation.InstanceId!, invocation]));
    // Commands sent before instanceIds were carried: judge the listed invocations, missing ones count as unfinished.
    const requested = command.instanceIds ?? [...byInstance.keys()];
    const invocations = requested.flatMap((id) => (byInstance.has(id) ? [byInstance.get(id)!] : []));
    const ok = invocations.filter((invocation) => invocation.Status === 'Success').map((i) => i.InstanceId!);
    const bad = invocations.filter((invocation) => FINISHED_BAD.has(invocation.Status ?? ''));
    succeeded += ok.length;
    finished += ok.length + bad.length;
    succeededIds.set(command, ok);
    if (bad.length > 0 && !command.check) {
      await tagSucceeded(ctx, command, ok);
      throw await commandFailure(ctx, command, bad);
    }
    for (const instanceId of requested) {
      const invocation = byInstance.get(instanceId);
      if (invocation?.Status === 'Success' || FINISHED_BAD.has(invocation?.Status ?? '')) continue;
      const status = invocation
        ? `${invocation.Status}${invocation.StatusDetails && invocation.StatusDetails !== invocation.Status ? ` (${invocation.StatusDetails})` : ''}`
        : 'not registered';
      unfinished.push({ command, instanceId, status });
    }
    if (!command.instanceIds && requested.length < command.instances) {
      unfinished.push({ command, instanceId: '?', status: 'not registered' });
    }
  }
  const done = unfinished.length === 0 && finished === total;
  if (done) for (const [command, ok] of succeededIds) await tagSucceeded(ctx, command, ok);
  else if (isLastRound(round)) throw await commandTimedOut(ctx, unfinished, round);
  return { done, total, succeeded, finished };
}
