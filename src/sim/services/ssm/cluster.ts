import { roleOfNickname } from '../../../core/spec/plan.js';
import { tagValue } from '../../../core/tags.js';
import type { Tag } from '../iam.js';
import { type OwnedRange, ownership, type RingMember, rangesOf, ringAt } from './ring.js';
import {
  type Ctx,
  type Ec2Instance,
  type Ec2View,
  ec2Of,
  GONE_STATES,
  type RingState,
  ssmState,
} from './state.js';

// Health checks: what `capi-health-check` prints, from what has run on the deployment's nodes.

/** The document whose output reflects the simulated world. */
export const HEALTH_CHECK_DOCUMENT = 'capi-health-check';

/** What a document run on a node printed, and its exit code. */
export interface RunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** An instance's role: its `Role` tag, else the nickname at the end of its Name tag (`…-cass001` → cassandra). */
export function roleOfInstance(tags: Tag[] | undefined): string | undefined {
  const tagged = tagValue(tags, 'Role');
  if (tagged) return tagged;
  return roleOfNickname((tagValue(tags, 'Name') ?? '').split(/[-_]/).pop() ?? '');
}

interface World {
  ctx: Ctx;
  ec2: Ec2View;
  /** The virtual time the check looks at the cluster (the end of its run). */
  at: number;
  self: Ec2Instance;
  /** Live instances with the same DeploymentName tag (the checking node included). */
  peers: Ec2Instance[];
  succeeded(instanceId: string, document: string): boolean;
  parameters: Record<string, string[]>;
  selfParameters(document: string): Record<string, string[]> | undefined;
}

function worldOf(
  ctx: Ctx,
  instanceId: string,
  parameters: Record<string, string[]>,
  at: number,
): World | undefined {
  const ec2 = ec2Of(ctx);
  const self = ec2.instances[instanceId];
  if (!self) return undefined;
  const deployment = tagValue(self.Tags, 'DeploymentName');
  const peers = Object.values(ec2.instances).filter(
    (instance) =>
      !GONE_STATES.has(instance.State?.Name) && tagValue(instance.Tags, 'DeploymentName') === deployment,
  );
  const managed = ssmState(ctx).managedInstances;
  return {
    ctx,
    ec2,
    at,
    self,
    peers,
    parameters,
    succeeded: (id, document) =>
      managed[id]?.provisioned[document] === 'Success' ||
      // An instance launched from an image has the software its source had installed (EC2 Instance.installed).
      (ec2.instances[id]?.installed?.includes(document) ?? false),
    selfParameters: (document) => managed[instanceId]?.succeededParameters[document],
  };
}

const expected = (world: World, name: string) => Number(world.parameters[name]?.[0] ?? '0');

const NODETOOL_HEADER = [
  'Datacenter: datacenter1',
  '=======================',
  'Status=Up/Down',
  '|/ State=Normal/Leaving/Joining/Moving',
  '--  Address  Load  Tokens  Owns (effective)  Host ID  Rack',
];

const CONNECTION_REFUSED: RunOutput = {
  exitCode: 1,
  stdout: "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.\n",
  stderr: '',
};

const STATE_LETTER: Partial<Record<RingState, string>> = { joining: 'J', leaving: 'L' };

/** Status (Up/Down) and state (Normal/Joining/Leaving) letters, ops-facts §1.3: UN, UJ, UL, DN. */
const statusCode = (member: RingMember) => `${member.up ? 'U' : 'D'}${STATE_LETTER[member.state] ?? 'N'}`;

/** A size as nodetool prints it (FileUtils.stringifyFileSize, `#.##`): `1.21 MiB`, `12 GiB`, `0 bytes`. */
export function formatLoad(bytes: number): string {
  const units: [string, number][] = [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  const [unit, size] = units.find(([, size]) => bytes >= size) ?? ['bytes', 1];
  return `${Number((bytes / size).toFixed(2))} ${unit}`;
}

/** One line of `nodetool status`; a joining node owns nothing yet (its ranges are pending): `?`. */
function nodetoolLine(member: RingMember, range: OwnedRange | undefined): string {
  const owns = range ? `${(ownership(range) * 100).toFixed(1)}%` : '?';
  return `${statusCode(member)}  ${member.ip}  ${formatLoad(member.loadBytes)}  1  ${owns}  ${member.hostId}  rack1`;
}

/** Why the ring is not healthy, one line each: too few UN nodes, a node not UN, a range with no live replica. */
function ringProblems(members: RingMember[], ranges: OwnedRange[], wanted: number): string[] {
  const upCount = members.filter((member) => statusCode(member) === 'UN').length;
  return [
    ...(upCount < wanted ? [`${upCount} of ${wanted} Cassandra nodes are UN`] : []),
    ...members.filter((member) => statusCode(member) !== 'UN').map((m) => `${m.ip} is ${statusCode(m)}`),
    // Replication factor 1: a range whose one replica is down has no live replica (ops-facts §1.2).
    ...ranges
      .filter((range) => !range.owner.up)
      .map((range) => `no live replica for range (${range.start}, ${range.end}] of ${range.owner.ip}`),
  ];
}

/**
 * `nodetool status` on the node, from the deployment's Cassandra ring (ring.ts) as it is at the end of the run:
 * members sorted by address, departed ones gone. It fails unless every member is UN, at least ExpectedNodes are,
 * and every range has a live replica. A node where Cassandra does not run cannot answer.
 */
function cassandraCheck(world: World): RunOutput {
  const deployment = tagValue(world.self.Tags, 'DeploymentName') ?? '';
  const members = ringAt(world.ctx, world.ec2, deployment, world.at);
  const self = members.find((member) => member.instanceId === world.self.InstanceId);
  if (!self?.up) return CONNECTION_REFUSED;
  const ranges = rangesOf(members);
  const rangeOf = new Map(ranges.map((range) => [range.owner.ip, range]));
  const lines = members.map((member) => nodetoolLine(member, rangeOf.get(member.ip)));
  const stdout = `${[...NODETOOL_HEADER, ...lines].join('\n')}\n`;
  const problems = ringProblems(members, ranges, expected(world, 'ExpectedNodes'));
  if (problems.length === 0) return { exitCode: 0, stdout, stderr: '' };
  return { exitCode: 1, stdout, stderr: problems.map((line) => `${line}\n`).join('') };
}

function rabbitmqCheck(world: World): RunOutput {
  const id = world.self.InstanceId;
  const configured = world.succeeded(id, 'capi-rabbitmq-configure');
  // The package starts the broker, so the AMQP listener is up after install; the queue comes with configure.
  const listener = configured || world.succeeded(id, 'capi-rabbitmq-install');
  const stdout = `amqp10-listener ${listener ? 'ok' : 'missing'}\nqueue capidaemon ${configured ? 'present' : 'missing'}\n`;
  return { exitCode: listener && configured ? 0 : 1, stdout, stderr: '' };
}

function httpCheck(world: World, name: 'webapi' | 'ui'): RunOutput {
  const url = name === 'webapi' ? 'http://127.0.0.1:6543/ks' : 'http://127.0.0.1/';
  // Install removes nginx's default site and configure starts webapi and the UI site: before that nothing answers.
  const status = world.succeeded(world.self.InstanceId, 'capi-bastion-configure') ? '200' : '000';
  const stderr =
    status === '200'
      ? ''
      : Array.from({ length: 12 }, (_, i) => `attempt ${i + 1}: ${url} answered ${status}\n`).join('');
  return { exitCode: status === '200' ? 0 : 1, stdout: `${name} http ${status}\n`, stderr };
}

/** The parameters of capi-prometheus-configure that list scrape targets, one per job. */
const TARGET_PARAMETERS = ['NodeTargets', 'JmxTargets', 'DaemonTargets', 'WebapiTargets', 'RabbitmqTargets'];

/**
 * `ip:port` targets Prometheus scrapes: those of its last configure, else every node (9100), Cassandra JMX (7070),
 * the daemons' (9201) and the webapi's (9200) exporters and RabbitMQ's Prometheus plugin (15692).
 */
function prometheusTargets(world: World): string[] {
  const configured = world.selfParameters('capi-prometheus-configure');
  const listed = TARGET_PARAMETERS.map((name) => configured?.[name]?.[0])
    .flatMap((value) => (value ? value.split(',') : []))
    .filter((target) => target.length > 0);
  if (listed.length > 0) return listed;
  const ofRole = (role: string, port: number) =>
    world.peers
      .filter((instance) => roleOfInstance(instance.Tags) === role)
      .map((instance) => `${instance.PrivateIpAddress}:${port}`);
  return [
    ...world.peers.map((instance) => `${instance.PrivateIpAddress}:9100`),
    ...ofRole('cassandra', 7070),
    ...ofRole('daemon', 9201),
    ...ofRole('bastion', 9200),
    ...ofRole('rabbitmq', 15692),
  ];
}

/**
 * The document after which a target's exporter answers: node_exporter comes with each role's install, the JMX agent
 * with Cassandra's configure (it starts the node), the daemon's and webapi's exporters with the configure that
 * starts their unit, and RabbitMQ's with the configure that enables the rabbitmq_prometheus plugin.
 */
const EXPORTER_DOCUMENT: Record<string, string> = {
  '7070': 'capi-cassandra-configure',
  '9201': 'capi-daemon-configure',
  '9200': 'capi-bastion-configure',
  '15692': 'capi-rabbitmq-configure',
};

function targetUp(world: World, target: string): boolean {
  const [ip, port] = target.split(':');
  const node = world.peers.find((instance) => instance.PrivateIpAddress === ip);
  if (!node) return false;
  const role = roleOfInstance(node.Tags);
  if (role === undefined) return false;
  const document = EXPORTER_DOCUMENT[port] ?? `capi-${role}-install`;
  return world.succeeded(node.InstanceId, document);
}

function prometheusCheck(world: World): RunOutput {
  const wanted = expected(world, 'ExpectedTargets');
  const lines = world.succeeded(world.self.InstanceId, 'capi-prometheus-configure')
    ? prometheusTargets(world)
        .map((target) => `target ${target} ${targetUp(world, target) ? 'up' : 'down'}`)
        .sort()
    : [];
  const up = lines.filter((line) => line.endsWith(' up')).length;
  const down = lines.length - up;
  if (down === 0 && up > 0 && up >= wanted)
    return { exitCode: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
  const stderr = Array.from(
    { length: 12 },
    (_, i) => `attempt ${i + 1}: ${up} targets up, ${down} down, ${wanted} expected\n`,
  ).join('');
  return { exitCode: 1, stdout: lines.length > 0 ? `${lines.join('\n')}\n` : '', stderr };
}

/** Runs `capi-health-check` on an instance against the simulated world as it is at `at` (the end of the run). */
export function healthCheck(
  ctx: Ctx,
  instanceId: string,
  parameters: Record<string, string[]>,
  at = ctx.now(),
): RunOutput {
  const world = worldOf(ctx, instanceId, parameters, at);
  if (!world) return { exitCode: 1, stdout: '', stderr: 'ERROR: instance is gone\n' };
  const check = parameters.Check?.[0];
  switch (check) {
    case 'cassandra':
      return cassandraCheck(world);
    case 'rabbitmq':
      return rabbitmqCheck(world);
    case 'webapi':
      return httpCheck(world, 'webapi');
    case 'ui':
      return httpCheck(world, 'ui');
    case 'prometheus':
      return prometheusCheck(world);
    default:
      return { exitCode: 1, stdout: '', stderr: `ERROR: Check: invalid value '${check ?? ''}'\n` };
  }
}
