import { tagValue } from '../../core/tags.js';
import type { Operation, ServiceSimulator } from '../account.js';
import { awsError } from '../aws-error.js';
import { catalogueOperations } from './ec2/catalogue.js';
import { gatewayOperations } from './ec2/gateways.js';
import { imageOperations } from './ec2/images.js';
import { instanceOperations } from './ec2/instances.js';
import { interfaceOperations } from './ec2/interfaces.js';
import { refreshEc2 } from './ec2/lifecycle.js';
import { networkOperations } from './ec2/network.js';
import { routeOperations } from './ec2/routes.js';
import { securityGroupOperations } from './ec2/security-groups.js';
import {
  asArray,
  type Collection,
  type Ctx,
  collectionOfId,
  type Ec2State,
  ec2Error,
  ensureCollections,
  initialEc2State,
  lookup,
  mergeTags,
  missingParameter,
} from './ec2/state.js';
import { volumeOperations } from './ec2/volumes.js';
import type { Tag } from './iam.js';

export { UBUNTU_AMIS } from './ec2/catalogue.js';
export { refreshEc2, subnetHasInternetRoute } from './ec2/lifecycle.js';
export type { Ec2State } from './ec2/state.js';

// ---------------------------------------------------------------------------------------------------------------
// Tags on any resource

/** The tagged entry an id names: an unknown prefix is InvalidID, an unknown id the kind's NotFound. */
function taggable(ctx: Ctx, id: unknown): { Tags: Tag[] } {
  const collection = collectionOfId(String(id));
  if (!collection) throw ec2Error('InvalidID', `The ID '${String(id)}' is not valid`);
  return lookup(ctx.state, collection, id);
}

function createTags(ctx: Ctx, input: any) {
  const resources = asArray(input.Resources);
  if (resources.length === 0) throw missingParameter('resourceIdSet');
  const entries = resources.map((id) => taggable(ctx, id));
  for (const entry of entries) entry.Tags = mergeTags(entry.Tags, input.Tags ?? []);
  return {};
}

/** Without Tags, removes every tag; a tag without Value goes whatever its value; with a Value only if it matches. */
function deleteTags(ctx: Ctx, input: any) {
  const entries = asArray(input.Resources).map((id) => taggable(ctx, id));
  const removed = input.Tags as { Key: string; Value?: string }[] | undefined;
  for (const entry of entries) {
    entry.Tags = removed
      ? entry.Tags.filter(
          (tag) =>
            !removed.some(
              (gone) => gone.Key === tag.Key && (gone.Value === undefined || gone.Value === tag.Value),
            ),
        )
      : [];
  }
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// Fault-rule targets

/** Input fields that name one resource, and those that name several. */
const ID_FIELDS = [
  'VpcId',
  'SubnetId',
  'GroupId',
  'InstanceId',
  'NatGatewayId',
  'AllocationId',
  'VolumeId',
  'InternetGatewayId',
  'RouteTableId',
  'ImageId',
  'SnapshotId',
];
const ID_LIST_FIELDS = [
  'InstanceIds',
  'NatGatewayIds',
  'VolumeIds',
  'GroupIds',
  'SubnetIds',
  'VpcIds',
  'Resources',
];

/**
 * The Name tags of the resources a call touches, so fault rules with a `target` match: the names in
 * TagSpecifications for a create, else the names of the resources its id fields refer to.
 */
function targetsOf(ctx: Ctx, _operation: string, input: any): string[] {
  ensureCollections(ctx.state);
  const specified = asArray(input?.TagSpecifications).flatMap((spec: any) =>
    asArray(spec?.Tags).flatMap((tag: any) => (tag?.Key === 'Name' ? [String(tag.Value)] : [])),
  );
  const ids = [
    ...ID_FIELDS.map((field) => input?.[field]),
    ...ID_LIST_FIELDS.flatMap((field) => asArray(input?.[field])),
  ].filter((id): id is string => typeof id === 'string');
  const named = ids.flatMap((id) => {
    const collection: Collection | undefined = collectionOfId(id);
    const entry = collection ? (ctx.state[collection] as Record<string, { Tags?: Tag[] }>)[id] : undefined;
    const name = tagValue(entry?.Tags, 'Name');
    return name ? [name] : [];
  });
  return [...new Set([...specified, ...named])];
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator

/** Every operation first brings the account's EC2 state up to the virtual now. */
function withRefresh(operation: (ctx: Ctx, input: any) => unknown): Operation<Ec2State> {
  return (ctx, input) => {
    ensureCollections(ctx.state);
    if (input?.DryRun) {
      throw awsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    }
    refreshEc2(ctx.state, ctx.now());
    return operation(ctx, input ?? {});
  };
}

const operations: Record<string, (ctx: Ctx, input: any) => unknown> = {
  ...networkOperations,
  ...routeOperations,
  ...gatewayOperations,
  ...securityGroupOperations,
  ...instanceOperations,
  ...volumeOperations,
  ...interfaceOperations,
  ...catalogueOperations,
  // After the catalogue: its DescribeImages gives way to one that lists own images too.
  ...imageOperations,
  CreateTags: createTags,
  DeleteTags: deleteTags,
};

/**
 * EC2: VPCs, subnets, gateways, route tables, elastic IPs, security groups, instances, volumes and the instance
 * type / AMI catalogue, with AWS's asynchronous states, eventual consistency and dependency errors.
 */
export const ec2Simulator: ServiceSimulator<Ec2State> = {
  name: 'EC2',
  initialState: initialEc2State,
  operations: Object.fromEntries(Object.entries(operations).map(([name, op]) => [name, withRefresh(op)])),
  targetsOf,
};
