import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { ensureInstanceRole } from '../../functions/instance-role/instance-role.js';
import { preflight } from '../../functions/preflight/preflight.js';
import { ensureSecrets } from '../../functions/secrets/secrets.js';
import { type AwsClients, clientsFor } from '../../functions/shared/clients.js';
import { deploymentContext } from '../../functions/shared/context.js';
import { documentParameters } from '../core/documents.js';
import type { NodePlan, Plan } from '../core/spec/plan.js';
import { planDeployment } from '../core/spec/plan.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { useSimulatedAccount } from '../local/engine.js';
import { loadDocuments } from '../provisioning/documents.js';
import { runInVirtualTime } from '../sim/clock.js';
import type { FaultRule } from '../sim/faults.js';
import { openAccount } from '../sim/services/index.js';
import { setVcpuQuota } from '../sim/services/quotas.js';
import { DEFAULT_DOCUMENT_SECONDS, DOCUMENT_SECONDS } from '../sim/services/ssm.js';

/**
 * capideploy's `deployment_create`, driven over the same simulated account as our state machines: the same call
 * latencies (CALL_LATENCY), EC2 token buckets, settling times (LATENCY_SECONDS) and per-document run times
 * (DOCUMENT_SECONDS), with capideploy's own order, fan-out, throttle, poll intervals and timeouts and NO tuning of
 * its own. It is the benchmark's yardstick ("the capideploy-order makespan"). Every modelling choice names the
 * section of reference/capideploy-spec.md it follows:
 *
 * - §1.2: the chain runs one command at a time, each to its end, in deployment_create's order: create_floating_ips,
 *   create_networking, create_security_groups, create_volumes "*", create_instances "*", ping_instances "*",
 *   attach_volumes "bastion", install_services "bastion", install_services of the other roles,
 *   stop_services "cass*", config_services "cass*", config_services of the other roles, check_cassandra_status.
 * - §1.3: commands without per-instance work run in one goroutine (calls one after another); per-instance work fans
 *   out to at most 50 workers with a 1 call/s start throttle (a time.Ticker: item k starts no earlier than k s after
 *   the first); any worker error fails the command and the chain stops (no rollback).
 * - §2.2: polls and timeouts: VPC 1 s / 120 s, NAT gateway 3 s / 180 s, instance running 1 s / 120 s, volume
 *   attached 1 s / 30 s; no wait for subnets, IGW, routes, SGs, volume create, EIPs.
 * - §2.3: the exact EC2 calls of each step: a lookup by tag:Name before each create; per instance DescribeSubnets,
 *   DescribeSecurityGroups and DescribeInstances by Name, RunInstances (no ClientToken), then the poll; the bastion's
 *   AssociateAddress; once per command DescribeInstanceTypes and DescribeImages.
 * - §2.4: attach_volumes: AttachVolume, then the attach poll; the mount script over SSH is part of our bastion
 *   documents (they mount the log volume), so it adds no separate run here.
 * - §1.1 / CLI `-n 50`: ping_instances runs SSH `id` up to 50 times 5 s apart per instance; here the SSH ping is a
 *   poll of the node's SSM agent (DescribeInstanceInformation for that instance, every 5 s, at most 50 times):
 *   what answers our commands is the agent, as sshd answers capideploy's. install_services pings 5 times first.
 * - §4.1 / §3.5: each SSH script is one connection that returns when the script ends; a role's scripts are our one
 *   document for that role and phase (capi-<role>-install / -configure, the same documents and DOCUMENT_SECONDS our
 *   workflow sends), sent to ONE instance per SendCommand (capideploy has one session per host) and awaited by
 *   GetCommandInvocation every 1 s (an SSH session reports the end at once; 1 s is capideploy's own finest poll),
 *   from the document's run time on (DOCUMENT_SECONDS: it cannot end sooner), which gives the same virtual time
 *   as asking every second from the start without a hundred calls per script.
 * - §1.2 stop_services "cass*": `systemctl stop cassandra` has no document of ours (capi-cassandra-configure stops
 *   and starts Cassandra itself); modelled as one SSH round trip per node, 1 s, no AWS call, in the same fan-out.
 * - §1.1 check_cassandra_status: one nodetool status on one Cassandra node, single attempt: capi-health-check with
 *   Check=cassandra and ExpectedNodes=N on the first node.
 *
 * - Throttling: capideploy's per-instance polls (33 describes a second at 1 s each) outrun EC2's describe bucket
 *   (20 a second) from a hundred-odd nodes up, and its Go SDK gives up after 3 attempts: real capideploy would fail
 *   create_instances there. The baseline instead retries a RequestLimitExceeded until it passes (SDK-style backoff,
 *   0.5 s doubling to 20 s, full jitter), which only makes it faster and sturdier than capideploy: our ratio to it
 *   is conservative.
 *
 * Not modelled, and why: capideploy uses a pre-existing instance profile and adds it to the bastion and daemons
 * with AssociateIamInstanceProfile after launch (§2.3 step 9); SSM needs a profile on every node, so the profile
 * (our instance role, made before the clock starts, like capideploy's pre-existing one) is given at RunInstances
 * and AssociateIamInstanceProfile is not called. DescribeKeyPairs is not called (no key pair: SSM, not SSH). The
 * generated secrets (capideploy: environment variables) are put before the clock starts as well.
 */

/** §1.3: at most 50 concurrent workers, one start a second. */
export const MAX_WORKERS = 50;
export const START_INTERVAL_SECONDS = 1;
/** CLI flag -n (§1): ping repetitions, 5 s apart; install_services pings 5 times. */
const PING_TRIES = 50;
const INSTALL_PING_TRIES = 5;
const PING_INTERVAL_SECONDS = 5;
/** §2.2. */
const POLL = {
  vpc: { every: 1, timeout: 120 },
  natGateway: { every: 3, timeout: 180 },
  instance: { every: 1, timeout: 120 },
  volume: { every: 1, timeout: 30 },
};
/** How often a modelled SSH session notices its script ended (see §4.1 above). */
const SESSION_POLL_SECONDS = 1;
/** stop_services "cass*": one SSH round trip. */
const STOP_SECONDS = 1;

export interface BaselineResult {
  /** Virtual seconds from the first command to the end of check_cassandra_status (or the failure). */
  virtualSeconds: number;
  succeeded: boolean;
  failure?: string;
  /** Seconds each command of the chain took, in order. */
  commands: { command: string; seconds: number }[];
  apiCalls: number;
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

class ChainFailed extends Error {}

/** The backoff's jitter: seeded, so a baseline run replays. */
let jitterState = 0x9e3779b9;
function jitter(): number {
  jitterState = (Math.imul(jitterState, 1664525) + 1013904223) >>> 0;
  return jitterState / 4_294_967_296;
}

/** A client whose `send` retries RequestLimitExceeded until it passes (see "Throttling" above). */
function persistent<C extends { send: (command: any) => Promise<any> }>(client: C): C {
  const send = async (command: unknown) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.send(command);
      } catch (error) {
        if ((error as Error).name !== 'RequestLimitExceeded') throw error;
        await sleep(jitter() * Math.min(20, 0.5 * 2 ** Math.min(attempt, 6)));
      }
    }
  };
  return new Proxy(client, { get: (target, key) => (key === 'send' ? send : Reflect.get(target, key)) });
}

/** Polls `check` every `every` s until it answers true, failing after `timeout` s (§2.2). */
async function pollUntil(what: string, every: number, timeout: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new ChainFailed(`${what}: not done after ${timeout} s`);
    await sleep(every);
  }
}

/** §1.3: per-item work, at most 50 workers, one start per second; every error collected, the command fails. */
async function fanOut<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let nextStart = Date.now();
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      const wait = nextStart - Date.now();
      nextStart = Math.max(nextStart, Date.now()) + START_INTERVAL_SECONDS * 1000;
      if (wait > 0) await sleep(wait / 1000);
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_WORKERS, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

const tags = (plan: Plan, name: string): Tag[] => [
  { Key: 'Name', Value: name },
  { Key: 'DeploymentName', Value: plan.deployment },
  { Key: 'DeploymentOperator', Value: 'capideploy' },
];
const tagSpec = (plan: Plan, type: string, name: string) => [
  { ResourceType: type as never, Tags: tags(plan, name) },
];
const byName = (name: string) => [{ Name: 'tag:Name', Values: [name] }];

interface Network {
  vpcId: string;
  privateSubnetId: string;
  publicSubnetId: string;
  bastionEip: string;
  natAllocationId: string;
}

/** The capideploy driver: one method per command of §1.2. */
class Capideploy {
  readonly network = {} as Network;
  readonly securityGroups: Record<string, string> = {};
  readonly instances = new Map<string, string>();
  volumeId = '';

  constructor(
    readonly plan: Plan,
    readonly clients: AwsClients,
    readonly setup: { amiId: string; instanceProfileArn: string },
  ) {
    this.ec2 = persistent(clients.ec2);
    this.ssm = persistent(clients.ssm);
  }

  private readonly ec2: AwsClients['ec2'];
  private readonly ssm: AwsClients['ssm'];

  /** §2.3 step 1: the bastion's and the NAT gateway's EIPs, looked up by Name, allocated if missing. */
  async createFloatingIps() {
    for (const name of [
      `${this.plan.deployment}_bastion_external_ip_name`,
      `${this.plan.deployment}_natgw_external_ip_name`,
    ]) {
      const found = await this.ec2.send(new DescribeAddressesCommand({ Filters: byName(name) }));
      let address = found.Addresses?.[0];
      if (!address) {
        const made = await this.ec2.send(
          new AllocateAddressCommand({ TagSpecifications: tagSpec(this.plan, 'elastic-ip', name) }),
        );
        address = { AllocationId: made.AllocationId, PublicIp: made.PublicIp };
      }
      if (name.includes('bastion')) this.network.bastionEip = address.AllocationId!;
      else this.network.natAllocationId = address.AllocationId!;
    }
  }

  /** §2.3 steps 2-6 and §2.2's VPC and NAT gateway polls. */
  async createNetworking() {
    const { plan, ec2 } = this;
    const dep = plan.deployment;
    await ec2.send(new DescribeVpcsCommand({ Filters: byName(`${dep}_network`) }));
    const vpc = await ec2.send(
      new CreateVpcCommand({
        CidrBlock: plan.network.vpcCidr,
        TagSpecifications: tagSpec(plan, 'vpc', `${dep}_network`),
      }),
    );
    const vpcId = vpc.Vpc!.VpcId!;
    this.network.vpcId = vpcId;
    await pollUntil('VPC', POLL.vpc.every, POLL.vpc.timeout, async () => {
      const seen = await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
      return seen.Vpcs?.[0]?.State === 'available';
    });
    // capideploy's sample has a /24 private subnet (§2.3); the plan's is as large as the fleet needs.
    for (const [kind, cidr] of [
      ['private', plan.network.privateSubnetCidr],
      ['public', plan.network.publicSubnetCidr],
    ] as const) {
      const name = `${dep}_${kind}_subnet`;
      await ec2.send(new DescribeSubnetsCommand({ Filters: byName(name) }));
      const subnet = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: cidr,
          AvailabilityZone: plan.availabilityZone,
          TagSpecifications: tagSpec(plan, 'subnet', name),
        }),
      );
      if (kind === 'private') this.network.privateSubnetId = subnet.Subnet!.SubnetId!;
      else this.network.publicSubnetId = subnet.Subnet!.SubnetId!;
    }
    // Internet gateway and public routing (§2.3 step 5).
    await ec2.send(new DescribeInternetGatewaysCommand({ Filters: byName(`${dep}_router`) }));
    const igw = await ec2.send(
      new CreateInternetGatewayCommand({
        TagSpecifications: tagSpec(plan, 'internet-gateway', `${dep}_router`),
      }),
    );
    const igwId = igw.InternetGateway!.InternetGatewayId!;
    await ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [igwId] }));
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    const main = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'association.main', Values: ['true'] },
          { Name: 'vpc-id', Values: [vpcId] },
        ],
      }),
    );
    const mainId = main.RouteTables![0].RouteTableId!;
    await ec2.send(
      new CreateTagsCommand({
        Resources: [mainId],
        Tags: [{ Key: 'Name', Value: `${dep}_public_subnet_vpc_default_rt` }],
      }),
    );
    await ec2.send(
      new AssociateRouteTableCommand({ RouteTableId: mainId, SubnetId: this.network.publicSubnetId }),
    );
    await ec2.send(
      new CreateRouteCommand({ RouteTableId: mainId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igwId }),
    );
    // NAT gateway and private routing (§2.3 step 6), polled every 3 s for up to 180 s (§2.2).
    await ec2.send(new DescribeNatGatewaysCommand({ Filter: byName(`${dep}_natgw`) }));
    const nat = await ec2.send(
      new CreateNatGatewayCommand({
        SubnetId: this.network.publicSubnetId,
        AllocationId: this.network.natAllocationId,
        TagSpecifications: tagSpec(plan, 'natgateway', `${dep}_natgw`),
      }),
    );
    const natId = nat.NatGateway!.NatGatewayId!;
    await pollUntil('NAT gateway', POLL.natGateway.every, POLL.natGateway.timeout, async () => {
      const seen = await ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: [natId] }));
      return seen.NatGateways?.[0]?.State === 'available';
    });
    const rtName = `${dep}_private_subnet_rt_to_natgw`;
    await ec2.send(new DescribeRouteTablesCommand({ Filters: byName(rtName) }));
    const rt = await ec2.send(
      new CreateRouteTableCommand({ VpcId: vpcId, TagSpecifications: tagSpec(plan, 'route-table', rtName) }),
    );
    const rtId = rt.RouteTable!.RouteTableId!;
    await ec2.send(
      new AssociateRouteTableCommand({ RouteTableId: rtId, SubnetId: this.network.privateSubnetId }),
    );
    await ec2.send(
      new CreateRouteCommand({ RouteTableId: rtId, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: natId }),
    );
  }

  /** §2.3 step 7 with the rules of §2.9 (the plan's, one AuthorizeSecurityGroupIngress per rule). */
  async createSecurityGroups() {
    const { plan, ec2 } = this;
    await ec2.send(new DescribeVpcsCommand({ Filters: byName(`${plan.deployment}_network`) }));
    for (const group of plan.securityGroups) {
      await ec2.send(new DescribeSecurityGroupsCommand({ Filters: byName(group.name) }));
      const made = await ec2.send(
        new CreateSecurityGroupCommand({
          VpcId: this.network.vpcId,
          GroupName: group.name,
          Description: group.name,
          TagSpecifications: tagSpec(plan, 'security-group', group.name),
        }),
      );
      this.securityGroups[group.key] = made.GroupId!;
      for (const rule of group.rules) {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: made.GroupId!,
            IpPermissions: [
              {
                IpProtocol: rule.protocol,
                FromPort: rule.port,
                ToPort: rule.port,
                IpRanges: [{ CidrIp: rule.cidr }],
              },
            ],
          }),
        );
      }
    }
  }

  /** §2.3 step 8: the bastion's log volume (the only volume), fanned out as every per-instance command. */
  async createVolumes() {
    const { plan, ec2 } = this;
    const name = `${plan.deployment}_log`;
    await fanOut([name], async () => {
      await ec2.send(new DescribeVolumesCommand({ Filters: byName(name) }));
      const made = await ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: plan.availabilityZone,
          Size: 10,
          VolumeType: 'gp2',
          TagSpecifications: tagSpec(plan, 'volume', name),
        }),
      );
      this.volumeId = made.VolumeId!;
    });
  }

  /** §2.3 step 9: pre-checks once, then per instance (fanned out) lookups, RunInstances and the running poll. */
  async createInstances() {
    const { plan, ec2 } = this;
    const types = [...new Set(plan.nodes.map((node) => node.instanceType))];
    await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: types as never }));
    await ec2.send(new DescribeImagesCommand({ ImageIds: [this.setup.amiId] }));
    await fanOut(plan.nodes, async (node) => {
      const subnetName = `${plan.deployment}_${node.subnet}_subnet`;
      await ec2.send(new DescribeSubnetsCommand({ Filters: byName(subnetName) }));
      const sgName = plan.securityGroups.find((group) => group.key === node.securityGroup)!.name;
      await ec2.send(new DescribeSecurityGroupsCommand({ Filters: byName(sgName) }));
      await ec2.send(new DescribeInstancesCommand({ Filters: byName(node.name) }));
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: this.setup.amiId,
          InstanceType: node.instanceType as never,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: node.subnet === 'public' ? this.network.publicSubnetId : this.network.privateSubnetId,
          PrivateIpAddress: node.privateIp,
          SecurityGroupIds: [this.securityGroups[node.securityGroup]],
          IamInstanceProfile: { Arn: this.setup.instanceProfileArn },
          TagSpecifications: [
            ...tagSpec(plan, 'instance', node.name),
            { ResourceType: 'instance', Tags: [{ Key: 'Role', Value: node.role }] },
          ],
        }),
      );
      const id = run.Instances![0].InstanceId!;
      this.instances.set(node.name, id);
      await pollUntil(`instance ${node.name}`, POLL.instance.every, POLL.instance.timeout, async () => {
        // §2.2: state "" (not seen yet, EC2's eventual consistency) or pending means wait.
        const seen = await ec2
          .send(new DescribeInstancesCommand({ InstanceIds: [id] }))
          .catch((error: Error) => {
            if (error.name === 'InvalidInstanceID.NotFound') return { Reservations: [] };
            throw error;
          });
        return seen.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running';
      });
      if (node.role === 'bastion') {
        // capideploy passes PublicIp; the simulator (as EC2 for a VPC address) takes the AllocationId.
        await ec2.send(
          new AssociateAddressCommand({ InstanceId: id, AllocationId: this.network.bastionEip }),
        );
      }
    });
  }

  /** The SSH ping of §1.1, as a poll of the node's SSM agent every 5 s, `tries` times at most. */
  private async ping(node: NodePlan, tries: number) {
    const id = this.instances.get(node.name)!;
    await pollUntil(
      `ping ${node.name}`,
      PING_INTERVAL_SECONDS,
      PING_INTERVAL_SECONDS * (tries - 1),
      async () => {
        const seen = await this.ssm.send(
          new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
        );
        return seen.InstanceInformationList?.[0]?.PingStatus === 'Online';
      },
    );
  }

  async pingInstances() {
    await fanOut(this.plan.nodes, (node) => this.ping(node, PING_TRIES));
  }

  /** §2.4: AttachVolume, then polled every 1 s for up to 30 s (§2.2). */
  async attachBastionVolume() {
    const bastion = this.plan.nodes.find((node) => node.role === 'bastion')!;
    await fanOut([bastion], async () => {
      await this.ec2.send(
        new AttachVolumeCommand({
          VolumeId: this.volumeId,
          InstanceId: this.instances.get(bastion.name)!,
          Device: '/dev/sdf',
        }),
      );
      await pollUntil('log volume', POLL.volume.every, POLL.volume.timeout, async () => {
        const seen = await this.ec2.send(new DescribeVolumesCommand({ VolumeIds: [this.volumeId] }));
        return seen.Volumes?.[0]?.Attachments?.[0]?.State === 'attached';
      });
    });
  }

  /** One SSH script on one node: SendCommand of our document to that instance, awaited (§4.1). */
  private async runScript(node: NodePlan, document: string, extra: Record<string, string[]> = {}) {
    const id = this.instances.get(node.name)!;
    const sent = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: document,
        InstanceIds: [id],
        Parameters: {
          ...documentParameters(this.plan, document, node, { logVolumeId: this.volumeId }),
          ...extra,
        },
        TimeoutSeconds: 600,
      }),
    );
    const commandId = sent.Command!.CommandId!;
    // The session cannot end before the script has run (its DOCUMENT_SECONDS): ask from then on, every second.
    await sleep(DOCUMENT_SECONDS[document] ?? DEFAULT_DOCUMENT_SECONDS);
    for (;;) {
      await sleep(SESSION_POLL_SECONDS);
      try {
        const seen = await this.ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }),
        );
        if (seen.Status === 'Success') return;
        if (['Failed', 'TimedOut', 'Cancelled'].includes(seen.Status ?? '')) {
          throw new ChainFailed(`${document} on ${node.nickname}: ${seen.Status}`);
        }
      } catch (error) {
        if ((error as Error).name !== 'InvocationDoesNotExist') throw error;
      }
    }
  }

  nodes(roles: string[]) {
    return this.plan.nodes.filter((node) => roles.includes(node.role));
  }

  /** install_services: ping (5 tries), then the role's install scripts. */
  async installServices(roles: string[]) {
    await fanOut(this.nodes(roles), async (node) => {
      await this.ping(node, INSTALL_PING_TRIES);
      await this.runScript(node, `capi-${node.role}-install`);
    });
  }

  async stopServices(roles: string[]) {
    await fanOut(this.nodes(roles), async () => {
      await sleep(STOP_SECONDS);
    });
  }

  async configServices(roles: string[]) {
    await fanOut(this.nodes(roles), (node) => this.runScript(node, `capi-${node.role}-configure`));
  }

  /** check_cassandra_status: one nodetool status on one Cassandra node, one attempt. */
  async checkCassandraStatus() {
    const first = this.nodes(['cassandra'])[0];
    await this.runScript(first, 'capi-health-check', {
      Check: ['cassandra'],
      ExpectedNodes: [String(this.plan.cassandra.hosts.length)],
    });
  }
}

/**
 * Runs capideploy's deployment_create for `spec` over a fresh in-memory simulated account, in virtual time, and
 * answers its makespan. Setup (instance profile, secrets, AMI lookup) happens before the clock is read.
 */
export async function runCapideployBaseline(
  spec: DeploymentSpec,
  options: { faults?: FaultRule[]; seed?: number } = {},
): Promise<BaselineResult> {
  jitterState = 0x9e3779b9;
  const account = openAccount(null, {
    documents: loadDocuments(),
    faults: options.faults,
    seed: options.seed,
  });
  setVcpuQuota(account, 16_384);
  useSimulatedAccount(account);
  const plan = planDeployment(spec);
  const { result } = await runInVirtualTime(Date.now(), async () => {
    const ctx = await deploymentContext(spec);
    const { amiId } = await preflight(ctx, spec.capillariesReleaseUrl);
    const role = await ensureInstanceRole(ctx, spec.s3Buckets ?? []);
    await ensureSecrets(ctx);
    const clients = await clientsFor(plan.region);
    const driver = new Capideploy(plan, clients, { amiId, instanceProfileArn: role.instanceProfileArn });
    const callsBefore = account.totalApiCalls;
    const chain: [string, () => Promise<void>][] = [
      ['create_floating_ips', () => driver.createFloatingIps()],
      ['create_networking', () => driver.createNetworking()],
      ['create_security_groups', () => driver.createSecurityGroups()],
      ['create_volumes "*"', () => driver.createVolumes()],
      ['create_instances "*"', () => driver.createInstances()],
      ['ping_instances "*"', () => driver.pingInstances()],
      ['attach_volumes "bastion"', () => driver.attachBastionVolume()],
      ['install_services "bastion"', () => driver.installServices(['bastion'])],
      [
        'install_services "rabbitmq,prometheus,daemon*,cass*"',
        () => driver.installServices(['rabbitmq', 'prometheus', 'daemon', 'cassandra']),
      ],
      ['stop_services "cass*"', () => driver.stopServices(['cassandra'])],
      ['config_services "cass*"', () => driver.configServices(['cassandra'])],
      [
        'config_services "bastion,rabbitmq,prometheus,daemon*"',
        () => driver.configServices(['bastion', 'rabbitmq', 'prometheus', 'daemon']),
      ],
      ['check_cassandra_status', () => driver.checkCassandraStatus()],
    ];
    const started = Date.now();
    const commands: BaselineResult['commands'] = [];
    for (const [command, run] of chain) {
      const at = Date.now();
      try {
        await run();
      } catch (error) {
        commands.push({ command, seconds: (Date.now() - at) / 1000 });
        return {
          virtualSeconds: (Date.now() - started) / 1000,
          succeeded: false,
          failure: `${command}: ${(error as Error).name}: ${(error as Error).message}`,
          commands,
          apiCalls: account.totalApiCalls - callsBefore,
        };
      }
      commands.push({ command, seconds: (Date.now() - at) / 1000 });
    }
    return {
      virtualSeconds: (Date.now() - started) / 1000,
      succeeded: true,
      commands,
      apiCalls: account.totalApiCalls - callsBefore,
    };
  });
  return result;
}
