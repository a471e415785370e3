import { describe, expect, it } from 'vitest';
import {
  type AuthorizationRequest,
  authorize,
  type ContextValue,
  type Decision,
  type PolicySet,
  type PolicyStatement,
} from '../../src/sim/iam/evaluate.js';

const ACCOUNT = '123456789012';
const VPC = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-1`;

const req = (action: string, resource: string, context: Record<string, ContextValue> = {}) =>
  ({ action, resource, context }) satisfies AuthorizationRequest;

/** Decision of one Allow statement (plus optional extra statements) for a request. */
const decide = (request: AuthorizationRequest, ...statements: PolicyStatement[]): Decision =>
  authorize(request, { identity: [{ Version: '2012-10-17', Statement: statements }] }).decision;

const allow = (extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Allow',
  Action: 'ec2:DeleteVpc',
  Resource: '*',
  ...extra,
});

/** Decision of one condition entry on ec2:DeleteVpc. */
const cond = (
  operator: string,
  key: string,
  values: unknown,
  context: Record<string, ContextValue> = {},
): Decision =>
  decide(req('ec2:DeleteVpc', VPC, context), allow({ Condition: { [operator]: { [key]: values } } }));

describe('authorize: actions', () => {
  it('matches action names case-insensitively, with * and ? wildcards', () => {
    const r = req('ec2:DescribeInstances', '*');
    expect(decide(r, allow({ Action: 'EC2:describeinstances' }))).toBe('Allowed');
    expect(decide(r, allow({ Action: 'ec2:Describe*' }))).toBe('Allowed');
    expect(decide(r, allow({ Action: 'ec2:*Instances' }))).toBe('Allowed');
    expect(decide(r, allow({ Action: 'ec2:DescribeInstance?' }))).toBe('Allowed');
    expect(decide(r, allow({ Action: 'ec2:DescribeInstance' }))).toBe('ImplicitDeny');
    expect(decide(r, allow({ Action: 'ec2:*' }))).toBe('Allowed');
    expect(decide(r, allow({ Action: '*' }))).toBe('Allowed');
  });

  it('compares the service prefix exactly', () => {
    const r = req('ec2:DescribeInstances', '*');
    expect(decide(r, allow({ Action: 'ssm:DescribeInstances' }))).toBe('ImplicitDeny');
    expect(decide(r, allow({ Action: 'ec2messages:*' }))).toBe('ImplicitDeny');
    expect(decide(r, allow({ Action: ['ssm:*', 'ec2:Describe*'] }))).toBe('Allowed');
  });

  it('NotAction matches every action but the listed ones', () => {
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Action: undefined, NotAction: 'iam:*' }))).toBe(
      'Allowed',
    );
    expect(decide(req('iam:GetRole', VPC), allow({ Action: undefined, NotAction: 'iam:*' }))).toBe(
      'ImplicitDeny',
    );
  });
});

describe('authorize: resources', () => {
  it('* matches any resource; a request on * matches only *', () => {
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: '*' }))).toBe('Allowed');
    expect(decide(req('ec2:DescribeVpcs', '*'), allow({ Action: 'ec2:*', Resource: VPC }))).toBe(
      'ImplicitDeny',
    );
    expect(decide(req('ec2:DescribeVpcs', '*'), allow({ Action: 'ec2:*', Resource: '*' }))).toBe('Allowed');
  });

  it('matches ARN segments with wildcards; a wildcard in the resource part spans / and :', () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/capideploy/dep-1/instance`;
    const r = req('iam:GetRole', role);
    const on = (Resource: string) => decide(r, allow({ Action: 'iam:GetRole', Resource }));
    expect(on(`arn:aws:iam::${ACCOUNT}:role/capideploy/*`)).toBe('Allowed');
    expect(on(`arn:aws:iam::*:role/capideploy/*`)).toBe('Allowed');
    expect(on(`arn:aws:iam::${ACCOUNT}:role/*`)).toBe('Allowed');
    expect(on(`arn:aws:iam::${ACCOUNT}:role/other/*`)).toBe('ImplicitDeny');
    expect(on(`arn:aws:iam::${ACCOUNT}:role/capideploy/dep-?/instance`)).toBe('Allowed');
    expect(on(`arn:aws:iam::999999999999:role/capideploy/*`)).toBe('ImplicitDeny');
    const execution = req(
      'states:DescribeExecution',
      `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-create-deployment:run-1`,
    );
    const machines = `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-*`;
    expect(decide(execution, allow({ Action: 'states:*', Resource: machines }))).toBe('Allowed');
  });

  it('is case-sensitive in the resource part', () => {
    const r = req('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/Instance`);
    expect(
      decide(
        r,
        allow({ Action: 'iam:GetRole', Resource: `arn:aws:iam::${ACCOUNT}:role/capideploy/instance` }),
      ),
    ).toBe('ImplicitDeny');
  });

  it('does not let a region or account wildcard cross a colon', () => {
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: 'arn:aws:ec2:us-*:vpc/*' }))).toBe(
      'ImplicitDeny',
    );
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: 'arn:aws:ec2:*:*:vpc/*' }))).toBe('Allowed');
  });

  it('completes a short ARN with * segments', () => {
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: 'arn:aws:ec2' }))).toBe('Allowed');
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: 'arn:aws:s3' }))).toBe('ImplicitDeny');
  });

  it('NotResource matches every resource but the listed ones', () => {
    const other = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-2`;
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: undefined, NotResource: other }))).toBe(
      'Allowed',
    );
    expect(decide(req('ec2:DeleteVpc', VPC), allow({ Resource: undefined, NotResource: VPC }))).toBe(
      'ImplicitDeny',
    );
    expect(
      decide(req('ec2:DescribeVpcs', '*'), allow({ Action: 'ec2:*', Resource: undefined, NotResource: VPC })),
    ).toBe('Allowed');
  });
});

describe('authorize: condition operators', () => {
  it('String operators: exact, case-insensitive, like, with OR over values', () => {
    const tag = 'aws:ResourceTag/DeploymentOperator';
    expect(cond('StringEquals', tag, 'capideploy', { [tag]: 'capideploy' })).toBe('Allowed');
    expect(cond('StringEquals', tag, 'capideploy', { [tag]: 'Capideploy' })).toBe('ImplicitDeny');
    expect(cond('StringEquals', tag, ['a', 'capideploy'], { [tag]: 'capideploy' })).toBe('Allowed');
    expect(cond('StringEquals', tag, 'capi*', { [tag]: 'capideploy' })).toBe('ImplicitDeny');
    expect(cond('StringEqualsIgnoreCase', tag, 'CAPIDEPLOY', { [tag]: 'capideploy' })).toBe('Allowed');
    expect(cond('StringLike', tag, 'capi*', { [tag]: 'capideploy' })).toBe('Allowed');
    expect(cond('StringLike', tag, 'capideplo?', { [tag]: 'capideploy' })).toBe('Allowed');
    expect(cond('StringLike', tag, 'Capi*', { [tag]: 'capideploy' })).toBe('ImplicitDeny');
  });

  it('negated operators: NOR over values, true for a missing key', () => {
    const tag = 'aws:ResourceTag/Env';
    expect(cond('StringNotEquals', tag, ['prod', 'stage'], { [tag]: 'dev' })).toBe('Allowed');
    expect(cond('StringNotEquals', tag, ['prod', 'stage'], { [tag]: 'stage' })).toBe('ImplicitDeny');
    expect(cond('StringNotEquals', tag, 'prod', {})).toBe('Allowed');
    expect(cond('StringNotLike', tag, 'pr*', { [tag]: 'prod' })).toBe('ImplicitDeny');
    expect(cond('StringNotEqualsIgnoreCase', tag, 'PROD', { [tag]: 'prod' })).toBe('ImplicitDeny');
    expect(cond('ArnNotLike', 'aws:SourceArn', 'arn:aws:s3:::b', {})).toBe('Allowed');
    expect(cond('NumericNotEquals', 'aws:MultiFactorAuthAge', '5', {})).toBe('Allowed');
    expect(cond('DateNotEquals', 'aws:CurrentTime', '2020-01-01T00:00:00Z', {})).toBe('Allowed');
  });

  it('a missing key fails a positive operator', () => {
    expect(cond('StringEquals', 'aws:ResourceTag/DeploymentOperator', 'capideploy')).toBe('ImplicitDeny');
    expect(cond('StringLike', 'aws:ResourceTag/DeploymentOperator', '*')).toBe('ImplicitDeny');
  });

  it('matches condition keys case-insensitively', () => {
    expect(
      cond('StringEquals', 'AWS:RESOURCETAG/DeploymentOperator', 'x', {
        'aws:resourcetag/deploymentoperator': 'x',
      }),
    ).toBe('Allowed');
  });

  it('Numeric and Date comparisons', () => {
    const age = 'aws:MultiFactorAuthAge';
    expect(cond('NumericLessThan', age, '3600', { [age]: '60' })).toBe('Allowed');
    expect(cond('NumericLessThan', age, 3600, { [age]: '7200' })).toBe('ImplicitDeny');
    expect(cond('NumericLessThanEquals', age, '60', { [age]: '60' })).toBe('Allowed');
    expect(cond('NumericGreaterThan', age, '60', { [age]: '60.5' })).toBe('Allowed');
    expect(cond('NumericGreaterThanEquals', age, '61', { [age]: '60' })).toBe('ImplicitDeny');
    expect(cond('NumericEquals', age, '60', { [age]: 'sixty' })).toBe('ImplicitDeny');
    const now = 'aws:CurrentTime';
    expect(cond('DateLessThan', now, '2030-01-01T00:00:00Z', { [now]: '2026-11-29T10:00:00Z' })).toBe(
      'Allowed',
    );
    expect(cond('DateGreaterThan', now, '2030-01-01T00:00:00Z', { [now]: '2026-11-29T10:00:00Z' })).toBe(
      'ImplicitDeny',
    );
    expect(cond('DateEquals', now, '1577836800', { [now]: '2020-01-01T00:00:00Z' })).toBe('Allowed');
  });

  it('Bool compares true/false case-insensitively, JSON booleans included', () => {
    const mfa = 'aws:MultiFactorAuthPresent';
    expect(cond('Bool', mfa, true, { [mfa]: 'true' })).toBe('Allowed');
    expect(cond('Bool', mfa, 'TRUE', { [mfa]: 'true' })).toBe('Allowed');
    expect(cond('Bool', mfa, 'false', { [mfa]: 'true' })).toBe('ImplicitDeny');
    expect(cond('Bool', mfa, 'true', { [mfa]: 'yes' })).toBe('ImplicitDeny');
  });

  it('ArnEquals / ArnLike compare each ARN segment, wildcards allowed', () => {
    const key = 'iam:PolicyARN';
    const core = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';
    expect(cond('ArnEquals', key, core, { [key]: core })).toBe('Allowed');
    expect(cond('ArnEquals', key, core, { [key]: 'arn:aws:iam::aws:policy/AdministratorAccess' })).toBe(
      'ImplicitDeny',
    );
    expect(cond('ArnLike', key, 'arn:aws:iam::*:policy/*', { [key]: core })).toBe('Allowed');
    expect(cond('ArnLike', key, 'arn:aws:iam::*:policy/*', { [key]: 'not-an-arn' })).toBe('ImplicitDeny');
    expect(cond('ArnNotEquals', key, core, { [key]: core })).toBe('ImplicitDeny');
    expect(cond('ArnNotLike', key, 'arn:aws:iam::aws:*', { [key]: `arn:aws:iam::${ACCOUNT}:policy/x` })).toBe(
      'Allowed',
    );
  });

  it('ArnLike with a role path', () => {
    const key = 'aws:PrincipalArn';
    const path = `arn:aws:iam::${ACCOUNT}:role/capideploy/*`;
    expect(
      cond('ArnLike', key, path, { [key]: `arn:aws:iam::${ACCOUNT}:role/capideploy/dep-instance` }),
    ).toBe('Allowed');
    expect(cond('ArnLike', key, path, { [key]: `arn:aws:iam::${ACCOUNT}:role/dep-instance` })).toBe(
      'ImplicitDeny',
    );
  });

  it('Null: true when absent, false when present', () => {
    const key = 'sts:ExternalId';
    expect(cond('Null', key, 'false', { [key]: 'abc' })).toBe('Allowed');
    expect(cond('Null', key, 'false', {})).toBe('ImplicitDeny');
    expect(cond('Null', key, 'true', {})).toBe('Allowed');
    expect(cond('Null', key, true, { [key]: 'abc' })).toBe('ImplicitDeny');
  });

  it('...IfExists: true when the key is absent, evaluated when present', () => {
    const key = 'iam:PassedToService';
    expect(cond('StringEqualsIfExists', key, 'ec2.amazonaws.com', {})).toBe('Allowed');
    expect(cond('StringEqualsIfExists', key, 'ec2.amazonaws.com', { [key]: 'ec2.amazonaws.com' })).toBe(
      'Allowed',
    );
    expect(cond('StringEqualsIfExists', key, 'ec2.amazonaws.com', { [key]: 'lambda.amazonaws.com' })).toBe(
      'ImplicitDeny',
    );
    expect(cond('ArnLikeIfExists', 'aws:SourceArn', 'arn:aws:s3:::b*', {})).toBe('Allowed');
  });

  it('ForAllValues: every value matches; absent or empty set is true', () => {
    const key = 'aws:TagKeys';
    const op = 'ForAllValues:StringLike';
    expect(cond(op, key, 'capideploy:*', { [key]: ['capideploy:a', 'capideploy:b'] })).toBe('Allowed');
    expect(cond(op, key, 'capideploy:*', { [key]: ['capideploy:a', 'Name'] })).toBe('ImplicitDeny');
    expect(cond(op, key, ['capideploy:*', 'Name'], { [key]: ['capideploy:a', 'Name'] })).toBe('Allowed');
    expect(cond(op, key, 'capideploy:*', { [key]: [] })).toBe('Allowed');
    expect(cond(op, key, 'capideploy:*', {})).toBe('Allowed');
    expect(cond(op, key, 'capideploy:*', { [key]: 'capideploy:a' })).toBe('Allowed');
  });

  it('ForAnyValue: at least one value matches; absent or empty set is false', () => {
    const key = 'aws:TagKeys';
    const op = 'ForAnyValue:StringEquals';
    expect(cond(op, key, 'Owner', { [key]: ['Name', 'Owner'] })).toBe('Allowed');
    expect(cond(op, key, 'Owner', { [key]: ['Name'] })).toBe('ImplicitDeny');
    expect(cond(op, key, 'Owner', { [key]: [] })).toBe('ImplicitDeny');
    expect(cond(op, key, 'Owner', {})).toBe('ImplicitDeny');
  });

  it('set operators with a negated operator', () => {
    const key = 'aws:TagKeys';
    expect(cond('ForAllValues:StringNotEquals', key, ['Secret'], { [key]: ['Name', 'Owner'] })).toBe(
      'Allowed',
    );
    expect(cond('ForAllValues:StringNotEquals', key, ['Secret'], { [key]: ['Name', 'Secret'] })).toBe(
      'ImplicitDeny',
    );
    expect(cond('ForAnyValue:StringNotEquals', key, ['Secret'], { [key]: ['Name', 'Secret'] })).toBe(
      'Allowed',
    );
  });

  it('a multivalued key without a set operator does not match', () => {
    expect(cond('StringEquals', 'aws:TagKeys', 'Name', { 'aws:TagKeys': ['Name'] })).toBe('ImplicitDeny');
    expect(cond('StringNotEquals', 'aws:TagKeys', 'Owner', { 'aws:TagKeys': ['Name'] })).toBe('ImplicitDeny');
  });

  it('ANDs operators and keys', () => {
    const ctx = { 'aws:RequestTag/A': 'a', 'aws:RequestTag/B': 'b' };
    const both = { StringEquals: { 'aws:RequestTag/A': 'a', 'aws:RequestTag/B': 'b' } };
    expect(decide(req('ec2:DeleteVpc', VPC, ctx), allow({ Condition: both }))).toBe('Allowed');
    expect(
      decide(req('ec2:DeleteVpc', VPC, { ...ctx, 'aws:RequestTag/B': 'x' }), allow({ Condition: both })),
    ).toBe('ImplicitDeny');
    const twoOperators = { StringEquals: { 'aws:RequestTag/A': 'a' }, Null: { 'aws:RequestTag/C': 'false' } };
    expect(decide(req('ec2:DeleteVpc', VPC, ctx), allow({ Condition: twoOperators }))).toBe('ImplicitDeny');
  });

  it('an unknown operator never holds, in an Allow or in a Deny', () => {
    expect(cond('StringSortOf', 'aws:RequestTag/A', 'a', { 'aws:RequestTag/A': 'a' })).toBe('ImplicitDeny');
    const r = req('ec2:DeleteVpc', VPC, { 'aws:SourceIp': '10.0.0.1' });
    const deny: PolicyStatement = {
      ...allow(),
      Effect: 'Deny',
      Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    };
    expect(decide(r, allow(), deny)).toBe('Allowed');
  });
});

/** `${name}`, an IAM policy variable. */
const policyVariable = (name: string) => `\${${name}}`;

describe('authorize: policy variables', () => {
  const role = `arn:aws:iam::${ACCOUNT}:role/capideploy/alice`;
  const own = allow({
    Action: 'iam:GetRole',
    Resource: `arn:aws:iam::${ACCOUNT}:role/capideploy/${policyVariable('aws:username')}`,
  });

  it('substitutes a variable from the context in Version 2012-10-17', () => {
    expect(decide(req('iam:GetRole', role, { 'aws:username': 'alice' }), own)).toBe('Allowed');
    expect(decide(req('iam:GetRole', role, { 'aws:username': 'bob' }), own)).toBe('ImplicitDeny');
    expect(decide(req('iam:GetRole', role, {}), own)).toBe('ImplicitDeny');
    const withDefault = allow({
      Condition: { StringEquals: { 'aws:RequestTag/Owner': policyVariable("aws:username, 'nobody'") } },
    });
    expect(decide(req('ec2:DeleteVpc', VPC, { 'aws:RequestTag/Owner': 'nobody' }), withDefault)).toBe(
      'Allowed',
    );
    const literalStar = allow({
      Condition: { StringLike: { 'aws:RequestTag/Owner': `a${policyVariable('*')}` } },
    });
    expect(decide(req('ec2:DeleteVpc', VPC, { 'aws:RequestTag/Owner': 'a*' }), literalStar)).toBe('Allowed');
    expect(decide(req('ec2:DeleteVpc', VPC, { 'aws:RequestTag/Owner': 'ab' }), literalStar)).toBe(
      'ImplicitDeny',
    );
  });

  it('treats variables as literal text in a policy without Version 2012-10-17', () => {
    const policies: PolicySet = { identity: [{ Statement: own }] };
    expect(authorize(req('iam:GetRole', role, { 'aws:username': 'alice' }), policies).decision).toBe(
      'ImplicitDeny',
    );
  });
});

describe('authorize: evaluation logic', () => {
  const r = req('iam:DeleteRolePermissionsBoundary', `arn:aws:iam::${ACCOUNT}:role/capideploy/x`);
  const deny: PolicyStatement = {
    Sid: 'NoBoundaryRemoval',
    Effect: 'Deny',
    Action: 'iam:DeleteRolePermissionsBoundary',
    Resource: '*',
  };
  const allowAll: PolicyStatement = { Effect: 'Allow', Action: '*', Resource: '*' };

  it('an explicit Deny overrides an Allow and names the statement', () => {
    expect(authorize(r, { identity: [{ Statement: [allowAll, deny] }] })).toEqual({
      decision: 'ExplicitDeny',
      deniedBy: 'explicit',
      statement: deny,
    });
  });

  it('an explicit Deny in the boundary denies too', () => {
    const result = authorize(r, {
      identity: [{ Statement: allowAll }],
      boundary: [{ Statement: [allowAll, deny] }],
    });
    expect(result.decision).toBe('ExplicitDeny');
    expect(result.statement).toBe(deny);
  });

  it('no identity Allow: implicit deny by identity', () => {
    expect(authorize(r, { identity: [] })).toEqual({ decision: 'ImplicitDeny', deniedBy: 'identity' });
    expect(authorize(r, { identity: [], boundary: [{ Statement: allowAll }] })).toEqual({
      decision: 'ImplicitDeny',
      deniedBy: 'identity',
    });
  });

  it('allowed by identity but not by the boundary: implicit deny by boundary', () => {
    const boundary = [{ Statement: { Effect: 'Allow' as const, Action: 's3:*', Resource: '*' } }];
    expect(authorize(r, { identity: [{ Statement: allowAll }], boundary })).toEqual({
      decision: 'ImplicitDeny',
      deniedBy: 'boundary',
    });
  });

  it('allowed by both identity and boundary; an empty boundary list is no boundary', () => {
    expect(
      authorize(r, { identity: [{ Statement: allowAll }], boundary: [{ Statement: allowAll }] }),
    ).toEqual({
      decision: 'Allowed',
    });
    expect(authorize(r, { identity: [{ Statement: allowAll }], boundary: [] }).decision).toBe('Allowed');
  });

  it('throws on a statement AWS would refuse', () => {
    const bad = { Effect: 'Allow', Resource: '*' } as PolicyStatement;
    expect(() => authorize(r, { identity: [{ Statement: bad }] })).toThrow(/Action and NotAction/);
    const noResource = { Effect: 'Allow', Action: '*' } as PolicyStatement;
    expect(() => authorize(r, { identity: [{ Statement: noResource }] })).toThrow(/Resource and NotResource/);
  });
});
