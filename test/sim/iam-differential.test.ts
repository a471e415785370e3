import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Conditions,
  FUNCTION_ACTIONS,
  type Grant,
  type GrantedFunction,
  type RenderContext,
  renderCustomerGrants,
  renderGrants,
  renderInstanceBoundary,
} from '../../src/core/permissions.js';
import {
  type AuthorizationRequest,
  authorize,
  type ContextValue,
  type Decision,
  type PolicyDocument,
  type PolicySet,
  type PolicyStatement,
} from '../../src/sim/iam/evaluate.js';
import { ACCOUNT, type Case, compare, reference } from './iam-reference.js';

/**
 * Differential test of `src/sim/iam/evaluate.ts` against @cloud-copilot/iam-simulate (`runSimulation`, strict mode):
 * for every case, our decision must equal iam-simulate's. Cases: crafted edge cases, requests on the policies
 * `src/core/permissions.ts` renders, and `iam-corpus.json` (requests recorded from local runs). A case's `expected`,
 * when present, is checked too.
 */

const CUSTOMER = '210987654321';
const OTHER = '999999999999';

const checkAll = async (cases: Case[]) => {
  const mismatches = (await Promise.all(cases.map(compare))).filter((m) => m !== undefined);
  expect(mismatches).toEqual([]);
};

// ---------------------------------------------------------------------------------------------------------------
// a. Crafted edge cases

const VPC = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-0abc`;
const INSTANCE = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/capideploy/capideploy-demo-instance`;
const ROLE_NO_PATH = `arn:aws:iam::${ACCOUNT}:role/capideploy-demo-instance`;
const TAG = 'aws:ResourceTag/DeploymentOperator';

const rq = (
  action: string,
  resource: string,
  context: Record<string, ContextValue> = {},
): AuthorizationRequest => ({
  action,
  resource,
  context,
});
const doc = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const allow = (
  Action: string | string[],
  Resource: string | string[] = '*',
  Condition?: PolicyStatement['Condition'],
) => ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) }) satisfies PolicyStatement;
const deny = (
  Action: string | string[],
  Resource: string | string[] = '*',
  Condition?: PolicyStatement['Condition'],
) => ({ Effect: 'Deny', Action, Resource, ...(Condition ? { Condition } : {}) }) satisfies PolicyStatement;
const kase = (
  name: string,
  expected: Decision,
  request: AuthorizationRequest,
  identity: PolicyStatement[],
  boundary?: PolicyStatement[],
): Case => ({
  name,
  expected,
  request,
  policies: { identity: [doc(...identity)], ...(boundary ? { boundary: [doc(...boundary)] } : {}) },
});

/** One Allow ec2:DeleteVpc statement with a condition, on a request with a context. */
const deleteVpcIf = (
  name: string,
  expected: Decision,
  condition: PolicyStatement['Condition'],
  context: Record<string, ContextValue>,
) => kase(name, expected, rq('ec2:DeleteVpc', VPC, context), [allow('ec2:DeleteVpc', VPC, condition)]);

/** One Allow ec2:CreateTags statement with a condition on aws:TagKeys. */
const tagKeys = (name: string, expected: Decision, operator: string, values: string[], keys?: string[]) =>
  kase(name, expected, rq('ec2:CreateTags', INSTANCE, keys ? { 'aws:TagKeys': keys } : {}), [
    allow('ec2:CreateTags', '*', { [operator]: { 'aws:TagKeys': values } }),
  ]);

const CRAFTED: Case[] = [
  // Action and NotAction
  kase('exact action', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:DeleteVpc')]),
  kase('action case-insensitive', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('EC2:deletevpc')]),
  kase('action prefix wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:Delete*')]),
  kase('action suffix wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:*Vpc')]),
  kase('action ? wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:DeleteVp?')]),
  kase('action ? needs one character', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [allow('ec2:DeleteVpc?')]),
  kase('another action', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [allow('ec2:CreateVpc')]),
  kase('service wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:*')]),
  kase('another service', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [allow('ssm:*')]),
  kase('any action', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('*')]),
  kase('NotAction other service', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' },
  ]),
  kase('NotAction wildcard covering the action', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [
    { Effect: 'Allow', NotAction: ['iam:*', 'ec2:Delete*'], Resource: '*' },
  ]),
  kase('Deny NotAction', 'ExplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('*'),
    { Effect: 'Deny', NotAction: 'ec2:Describe*', Resource: '*' },
  ]),
  // Resource and NotResource
  kase('region wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', `arn:aws:ec2:*:${ACCOUNT}:vpc/*`),
  ]),
  kase('partial region wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', `arn:aws:ec2:us-*:${ACCOUNT}:vpc/*`),
  ]),
  kase('id ? wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-0ab?`),
  ]),
  kase('other resource type', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', `arn:aws:ec2:*:${ACCOUNT}:subnet/*`),
  ]),
  kase('wrong account', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', `arn:aws:ec2:*:${OTHER}:vpc/*`),
  ]),
  kase('all segments wildcard', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', 'arn:aws:ec2:*:*:*'),
  ]),
  kase('region wildcard does not cross a colon', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', 'arn:aws:ec2:us-*:vpc/*'),
  ]),
  kase('short ARN', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:DeleteVpc', 'arn:aws:ec2')]),
  kase('resource list', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:DeleteVpc', [`arn:aws:ec2:*:${ACCOUNT}:subnet/*`, `arn:aws:ec2:*:${ACCOUNT}:vpc/*`]),
  ]),
  kase('NotResource other type', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    { Effect: 'Allow', Action: 'ec2:DeleteVpc', NotResource: `arn:aws:ec2:*:${ACCOUNT}:subnet/*` },
  ]),
  kase('NotResource covering it', 'ImplicitDeny', rq('ec2:DeleteVpc', VPC), [
    { Effect: 'Allow', Action: 'ec2:DeleteVpc', NotResource: `arn:aws:ec2:*:${ACCOUNT}:vpc/*` },
  ]),
  kase('Deny NotResource', 'ExplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('*'),
    { Effect: 'Deny', Action: '*', NotResource: `arn:aws:ec2:*:${ACCOUNT}:subnet/*` },
  ]),
  kase('wildcard-only action, specific resource', 'ImplicitDeny', rq('ec2:DescribeVpcs', '*'), [
    allow('ec2:DescribeVpcs', `arn:aws:ec2:*:${ACCOUNT}:vpc/*`),
  ]),
  kase('wildcard-only action, *', 'Allowed', rq('ec2:DescribeVpcs', '*'), [allow('ec2:Describe*', '*')]),
  kase('wildcard-only action, NotResource', 'Allowed', rq('ec2:DescribeVpcs', '*'), [
    { Effect: 'Allow', Action: 'ec2:*', NotResource: VPC },
  ]),
  kase(
    'role path: wildcard spans /',
    'Allowed',
    rq('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/a/b`),
    [allow('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/*`)],
  ),
  kase('role path: a role off the path', 'ImplicitDeny', rq('iam:GetRole', ROLE_NO_PATH), [
    allow('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/*`),
  ]),
  kase(
    'resource part is case-sensitive',
    'ImplicitDeny',
    rq('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/Capideploy/x`),
    [allow('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/*`)],
  ),
  kase(
    'wildcard spans : in the resource part',
    'Allowed',
    rq(
      'states:DescribeExecution',
      `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-create-deployment:run-1`,
    ),
    [allow('states:DescribeExecution', `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-*`)],
  ),
  kase('S3 bucket wildcard', 'Allowed', rq('s3:GetObject', 'arn:aws:s3:::capi-bucket/dep/key'), [
    allow('s3:GetObject', 'arn:aws:s3:::capi-*/dep/*'),
  ]),
  kase('S3 other bucket', 'ImplicitDeny', rq('s3:GetObject', 'arn:aws:s3:::other/dep/key'), [
    allow('s3:GetObject', 'arn:aws:s3:::capi-*/dep/*'),
  ]),
  // String operators
  deleteVpcIf(
    'StringEquals match',
    'Allowed',
    { StringEquals: { [TAG]: 'capideploy' } },
    { [TAG]: 'capideploy' },
  ),
  deleteVpcIf(
    'StringEquals wrong value',
    'ImplicitDeny',
    { StringEquals: { [TAG]: 'capideploy' } },
    { [TAG]: 'other' },
  ),
  deleteVpcIf('StringEquals missing key', 'ImplicitDeny', { StringEquals: { [TAG]: 'capideploy' } }, {}),
  deleteVpcIf(
    'StringEquals is case-sensitive',
    'ImplicitDeny',
    { StringEquals: { [TAG]: 'capideploy' } },
    { [TAG]: 'CapiDeploy' },
  ),
  deleteVpcIf(
    'StringEquals OR of values',
    'Allowed',
    { StringEquals: { [TAG]: ['a', 'capideploy'] } },
    { [TAG]: 'capideploy' },
  ),
  deleteVpcIf(
    'StringEquals: * is literal',
    'ImplicitDeny',
    { StringEquals: { [TAG]: 'capi*' } },
    { [TAG]: 'capideploy' },
  ),
  deleteVpcIf(
    'StringEqualsIgnoreCase',
    'Allowed',
    { StringEqualsIgnoreCase: { [TAG]: 'CAPIDEPLOY' } },
    { [TAG]: 'capideploy' },
  ),
  deleteVpcIf('StringLike *', 'Allowed', { StringLike: { [TAG]: 'capi*' } }, { [TAG]: 'capideploy' }),
  deleteVpcIf('StringLike ?', 'Allowed', { StringLike: { [TAG]: 'capideplo?' } }, { [TAG]: 'capideploy' }),
  deleteVpcIf(
    'StringLike no match',
    'ImplicitDeny',
    { StringLike: { [TAG]: 'other*' } },
    { [TAG]: 'capideploy' },
  ),
  deleteVpcIf(
    'condition key case-insensitive',
    'Allowed',
    { StringEquals: { 'AWS:RESOURCETAG/DeploymentOperator': 'capideploy' } },
    {
      'aws:resourcetag/DeploymentOperator': 'capideploy',
    },
  ),
  // Negated operators
  deleteVpcIf('StringNotEquals missing key', 'Allowed', { StringNotEquals: { [TAG]: 'prod' } }, {}),
  deleteVpcIf(
    'StringNotEquals NOR: equals one',
    'ImplicitDeny',
    { StringNotEquals: { [TAG]: ['prod', 'stage'] } },
    { [TAG]: 'stage' },
  ),
  deleteVpcIf(
    'StringNotEquals NOR: equals none',
    'Allowed',
    { StringNotEquals: { [TAG]: ['prod', 'stage'] } },
    { [TAG]: 'dev' },
  ),
  deleteVpcIf('StringNotLike missing key', 'Allowed', { StringNotLike: { [TAG]: 'pr*' } }, {}),
  deleteVpcIf('StringNotLike match', 'ImplicitDeny', { StringNotLike: { [TAG]: 'pr*' } }, { [TAG]: 'prod' }),
  deleteVpcIf(
    'StringNotEqualsIgnoreCase',
    'ImplicitDeny',
    { StringNotEqualsIgnoreCase: { [TAG]: 'PROD' } },
    { [TAG]: 'prod' },
  ),
  deleteVpcIf(
    'ArnNotLike missing key',
    'Allowed',
    { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/x' } },
    {},
  ),
  deleteVpcIf(
    'ArnNotEquals equal',
    'ImplicitDeny',
    { ArnNotEquals: { 'aws:PrincipalArn': ROLE } },
    { 'aws:PrincipalArn': ROLE },
  ),
  deleteVpcIf(
    'ArnNotEquals other',
    'Allowed',
    { ArnNotEquals: { 'aws:PrincipalArn': ROLE } },
    { 'aws:PrincipalArn': ROLE_NO_PATH },
  ),
  deleteVpcIf(
    'NumericNotEquals missing key',
    'Allowed',
    { NumericNotEquals: { 'aws:MultiFactorAuthAge': '5' } },
    {},
  ),
  deleteVpcIf(
    'DateNotEquals missing key',
    'Allowed',
    { DateNotEquals: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    {},
  ),
  // IfExists
  kase(
    'StringEqualsIfExists PassedToService present, ec2',
    'Allowed',
    rq('iam:PassRole', ROLE, { 'iam:PassedToService': 'ec2.amazonaws.com' }),
    [allow('iam:PassRole', ROLE, { StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' } })],
  ),
  kase(
    'StringEqualsIfExists PassedToService present, lambda',
    'ImplicitDeny',
    rq('iam:PassRole', ROLE, { 'iam:PassedToService': 'lambda.amazonaws.com' }),
    [allow('iam:PassRole', ROLE, { StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' } })],
  ),
  kase('StringEqualsIfExists PassedToService absent', 'Allowed', rq('iam:PassRole', ROLE), [
    allow('iam:PassRole', ROLE, { StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
  ]),
  kase('StringEquals PassedToService absent', 'ImplicitDeny', rq('iam:PassRole', ROLE), [
    allow('iam:PassRole', ROLE, { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
  ]),
  deleteVpcIf(
    'BoolIfExists absent',
    'Allowed',
    { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } },
    {},
  ),
  deleteVpcIf(
    'StringNotEqualsIfExists present equal',
    'ImplicitDeny',
    { StringNotEqualsIfExists: { [TAG]: 'x' } },
    { [TAG]: 'x' },
  ),
  // Null
  kase(
    'Null false, external id present',
    'Allowed',
    rq('sts:AssumeRole', ROLE, { 'sts:ExternalId': 'abc' }),
    [allow('sts:AssumeRole', ROLE, { Null: { 'sts:ExternalId': 'false' } })],
  ),
  kase('Null false, external id absent', 'ImplicitDeny', rq('sts:AssumeRole', ROLE), [
    allow('sts:AssumeRole', ROLE, { Null: { 'sts:ExternalId': 'false' } }),
  ]),
  kase('Null true, absent', 'Allowed', rq('sts:AssumeRole', ROLE), [
    allow('sts:AssumeRole', ROLE, { Null: { 'sts:ExternalId': 'true' } }),
  ]),
  kase('Null true, present', 'ImplicitDeny', rq('sts:AssumeRole', ROLE, { 'sts:ExternalId': 'abc' }), [
    allow('sts:AssumeRole', ROLE, { Null: { 'sts:ExternalId': 'true' } }),
  ]),
  // Set operators on a multivalued key
  tagKeys(
    'ForAllValues all match',
    'Allowed',
    'ForAllValues:StringLike',
    ['capideploy:*'],
    ['capideploy:a', 'capideploy:b'],
  ),
  tagKeys(
    'ForAllValues one does not',
    'ImplicitDeny',
    'ForAllValues:StringLike',
    ['capideploy:*'],
    ['capideploy:a', 'Name'],
  ),
  tagKeys(
    'ForAllValues OR of policy values',
    'Allowed',
    'ForAllValues:StringLike',
    ['capideploy:*', 'Name'],
    ['capideploy:a', 'Name'],
  ),
  tagKeys('ForAllValues empty set', 'Allowed', 'ForAllValues:StringLike', ['capideploy:*'], []),
  tagKeys('ForAllValues absent', 'Allowed', 'ForAllValues:StringLike', ['capideploy:*']),
  tagKeys('ForAnyValue one matches', 'Allowed', 'ForAnyValue:StringEquals', ['Owner'], ['Name', 'Owner']),
  tagKeys('ForAnyValue none matches', 'ImplicitDeny', 'ForAnyValue:StringEquals', ['Owner'], ['Name']),
  tagKeys('ForAnyValue empty set', 'ImplicitDeny', 'ForAnyValue:StringEquals', ['Owner'], []),
  tagKeys('ForAnyValue absent', 'ImplicitDeny', 'ForAnyValue:StringEquals', ['Owner']),
  tagKeys(
    'ForAllValues:StringNotEquals none forbidden',
    'Allowed',
    'ForAllValues:StringNotEquals',
    ['Secret'],
    ['Name', 'Owner'],
  ),
  tagKeys(
    'ForAllValues:StringNotEquals one forbidden',
    'ImplicitDeny',
    'ForAllValues:StringNotEquals',
    ['Secret'],
    ['Name', 'Secret'],
  ),
  tagKeys(
    'ForAnyValue:StringNotLike one other',
    'Allowed',
    'ForAnyValue:StringNotLike',
    ['Sec*'],
    ['Name', 'Secret'],
  ),
  tagKeys('no set operator on a multivalued key', 'ImplicitDeny', 'StringEquals', ['Name'], ['Name']),
  tagKeys(
    'ForAllValues:StringEqualsIgnoreCase',
    'Allowed',
    'ForAllValues:StringEqualsIgnoreCase',
    ['NAME'],
    ['name'],
  ),
  deleteVpcIf(
    'ForAnyValue on a global multivalued key',
    'Allowed',
    { 'ForAnyValue:StringEquals': { 'aws:CalledVia': 'cloudformation.amazonaws.com' } },
    {
      'aws:CalledVia': ['athena.amazonaws.com', 'cloudformation.amazonaws.com'],
    },
  ),
  // ARN operators
  deleteVpcIf(
    'ArnLike role path',
    'Allowed',
    { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/capideploy/*` } },
    { 'aws:PrincipalArn': ROLE },
  ),
  deleteVpcIf(
    'ArnLike role without the path',
    'ImplicitDeny',
    { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/capideploy/*` } },
    {
      'aws:PrincipalArn': ROLE_NO_PATH,
    },
  ),
  deleteVpcIf(
    'ArnLike account wildcard',
    'Allowed',
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/capideploy/*' } },
    { 'aws:PrincipalArn': ROLE },
  ),
  deleteVpcIf(
    'ArnEquals exact',
    'Allowed',
    { ArnEquals: { 'aws:PrincipalArn': ROLE } },
    { 'aws:PrincipalArn': ROLE },
  ),
  deleteVpcIf(
    'ArnEquals with a wildcard',
    'Allowed',
    { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` } },
    { 'aws:PrincipalArn': ROLE },
  ),
  kase(
    'ArnEquals policy ARN',
    'Allowed',
    rq('iam:AttachRolePolicy', ROLE, {
      'iam:PolicyARN': 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
    }),
    [
      allow('iam:AttachRolePolicy', ROLE, {
        ArnEquals: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' },
      }),
    ],
  ),
  kase(
    'ArnEquals another policy ARN',
    'ImplicitDeny',
    rq('iam:AttachRolePolicy', ROLE, { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' }),
    [
      allow('iam:AttachRolePolicy', ROLE, {
        ArnEquals: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' },
      }),
    ],
  ),
  // Numeric, Date, Bool
  deleteVpcIf(
    'NumericLessThan true',
    'Allowed',
    { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } },
    { 'aws:MultiFactorAuthAge': '60' },
  ),
  deleteVpcIf(
    'NumericLessThan false',
    'ImplicitDeny',
    { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } },
    { 'aws:MultiFactorAuthAge': '7200' },
  ),
  deleteVpcIf(
    'NumericGreaterThanEquals equal',
    'Allowed',
    { NumericGreaterThanEquals: { 'aws:MultiFactorAuthAge': '60' } },
    {
      'aws:MultiFactorAuthAge': '60',
    },
  ),
  deleteVpcIf(
    'NumericEquals OR',
    'Allowed',
    { NumericEquals: { 'aws:MultiFactorAuthAge': ['1', '60'] } },
    { 'aws:MultiFactorAuthAge': '60' },
  ),
  deleteVpcIf(
    'DateLessThan true',
    'Allowed',
    { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
    {
      'aws:CurrentTime': '2026-11-29T10:00:00Z',
    },
  ),
  deleteVpcIf(
    'DateGreaterThan false',
    'ImplicitDeny',
    { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
    {
      'aws:CurrentTime': '2026-11-29T10:00:00Z',
    },
  ),
  deleteVpcIf(
    'DateEquals epoch',
    'Allowed',
    { DateEquals: { 'aws:EpochTime': '1577836800' } },
    { 'aws:EpochTime': '1577836800' },
  ),
  deleteVpcIf(
    'Bool true',
    'Allowed',
    { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    { 'aws:MultiFactorAuthPresent': 'true' },
  ),
  deleteVpcIf(
    'Bool false',
    'ImplicitDeny',
    { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
    { 'aws:MultiFactorAuthPresent': 'true' },
  ),
  deleteVpcIf(
    'Bool JSON boolean',
    'Allowed',
    { Bool: { 'aws:SecureTransport': true } },
    { 'aws:SecureTransport': 'true' },
  ),
  deleteVpcIf('Bool missing key', 'ImplicitDeny', { Bool: { 'aws:SecureTransport': 'true' } }, {}),
  // AND of keys and operators
  deleteVpcIf(
    'two keys, both hold',
    'Allowed',
    { StringEquals: { [TAG]: 'capideploy', 'aws:ResourceTag/Env': 'dev' } },
    {
      [TAG]: 'capideploy',
      'aws:ResourceTag/Env': 'dev',
    },
  ),
  deleteVpcIf(
    'two keys, one fails',
    'ImplicitDeny',
    { StringEquals: { [TAG]: 'capideploy', 'aws:ResourceTag/Env': 'dev' } },
    {
      [TAG]: 'capideploy',
      'aws:ResourceTag/Env': 'prod',
    },
  ),
  deleteVpcIf(
    'two operators, one fails',
    'ImplicitDeny',
    { StringEquals: { [TAG]: 'capideploy' }, Null: { 'aws:ResourceTag/Env': 'false' } },
    {
      [TAG]: 'capideploy',
    },
  ),
  // Policy variables
  kase(
    'variable in Resource',
    'Allowed',
    rq('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/alice`, { 'aws:username': 'alice' }),
    [allow('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/\${aws:username}`)],
  ),
  kase(
    'variable in Resource, other user',
    'ImplicitDeny',
    rq('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/alice`, { 'aws:username': 'bob' }),
    [allow('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/\${aws:username}`)],
  ),
  deleteVpcIf(
    'variable in a condition',
    'Allowed',
    { StringEquals: { 'aws:ResourceTag/Owner': `\${aws:username}` } },
    {
      'aws:ResourceTag/Owner': 'alice',
      'aws:username': 'alice',
    },
  ),
  // Explicit deny, several policies, boundaries
  kase('Deny overrides Allow', 'ExplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:*'),
    deny('ec2:DeleteVpc'),
  ]),
  kase('Deny with an unmet condition', 'Allowed', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:*'),
    deny('ec2:DeleteVpc', '*', { StringEquals: { [TAG]: 'prod' } }),
  ]),
  kase('Deny with a negated condition on a missing key', 'ExplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:*'),
    deny('ec2:DeleteVpc', '*', { StringNotEquals: { [TAG]: 'capideploy' } }),
  ]),
  kase('Deny with StringNotEqualsIfExists on a missing key', 'ExplicitDeny', rq('ec2:DeleteVpc', VPC), [
    allow('ec2:*'),
    deny('ec2:DeleteVpc', '*', { StringNotEqualsIfExists: { [TAG]: 'capideploy' } }),
  ]),
  kase('Deny alone', 'ExplicitDeny', rq('ec2:DeleteVpc', VPC), [deny('ec2:DeleteVpc')]),
  kase(
    'boundary allows, identity does not',
    'ImplicitDeny',
    rq('ec2:DeleteVpc', VPC),
    [allow('ec2:Describe*')],
    [allow('ec2:*')],
  ),
  kase(
    'identity allows, boundary does not',
    'ImplicitDeny',
    rq('ec2:DeleteVpc', VPC),
    [allow('ec2:*')],
    [allow('ec2:Describe*')],
  ),
  kase('both allow', 'Allowed', rq('ec2:DeleteVpc', VPC), [allow('ec2:DeleteVpc', VPC)], [allow('ec2:*')]),
  kase(
    'boundary Deny',
    'ExplicitDeny',
    rq('ec2:DeleteVpc', VPC),
    [allow('ec2:*')],
    [allow('*'), deny('ec2:Delete*')],
  ),
  kase(
    'boundary condition unmet',
    'ImplicitDeny',
    rq('ec2:DeleteVpc', VPC),
    [allow('ec2:*')],
    [allow('ec2:*', '*', { StringEquals: { [TAG]: 'capideploy' } })],
  ),
  kase(
    'boundary condition met',
    'Allowed',
    rq('ec2:DeleteVpc', VPC, { [TAG]: 'capideploy' }),
    [allow('ec2:*')],
    [allow('ec2:*', '*', { StringEquals: { [TAG]: 'capideploy' } })],
  ),
  {
    name: 'two identity policies: one allows, the other denies',
    expected: 'ExplicitDeny',
    request: rq('ec2:DeleteVpc', VPC),
    policies: { identity: [doc(allow('ec2:*')), doc(deny('ec2:DeleteVpc'))] },
  },
  {
    name: 'two identity policies: the second allows',
    expected: 'Allowed',
    request: rq('ec2:DeleteVpc', VPC),
    policies: { identity: [doc(allow('ssm:*')), doc(allow('ec2:DeleteVpc'))] },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// b. The policies src/core/permissions.ts renders

const RENDER: RenderContext = {
  partition: 'aws',
  account: ACCOUNT,
  createMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:capideploy-create-deployment`,
  deleteMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:capideploy-delete-deployment`,
  stopMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:capideploy-stop-deployment`,
  startMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:capideploy-start-deployment`,
  imagesCreateMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:capideploy-images-create`,
  imagesDeleteMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:capideploy-images-delete`,
  createExecutions: `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-create-deployment:*`,
  deleteExecutions: `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-delete-deployment:*`,
  stopExecutions: `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-stop-deployment:*`,
  startExecutions: `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-start-deployment:*`,
  imagesCreateExecutions: `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-images-create:*`,
  imagesDeleteExecutions: `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-images-delete:*`,
  commandOutputBucketArn: 'arn:aws:s3:::capideploy-command-output',
};

const toStatement = (grant: Grant & { sid?: string }): PolicyStatement => ({
  ...(grant.sid ? { Sid: grant.sid } : {}),
  Effect: grant.effect ?? 'Allow',
  Action: grant.actions,
  Resource: grant.resources,
  ...(grant.conditions ? { Condition: grant.conditions } : {}),
});

/** A concrete ARN matching a resource pattern: region `us-east-1`, account the customer's, names `x1`. */
function instantiate(pattern: string): string {
  if (pattern === '*') return '*';
  const parts = pattern.split(':');
  parts[3] = parts[3].replaceAll('*', 'us-east-1');
  parts[4] = parts[4].replaceAll('*', CUSTOMER);
  return [...parts.slice(0, 5), parts.slice(5).join(':').replaceAll('*', 'x1')].join(':');
}

/** A context that satisfies a grant's conditions (wildcards in the policy values become `x1`). */
function satisfying(conditions: Conditions | undefined): Record<string, ContextValue> {
  const context: Record<string, ContextValue> = {};
  for (const [operator, keys] of Object.entries(conditions ?? {})) {
    for (const [key, value] of Object.entries(keys)) {
      const values = [value].flat();
      if (operator === 'Null') {
        if (values[0] === 'false') context[key] = 'x1';
      } else if (operator.startsWith('ForAllValues:')) {
        context[key] = values.map((v) => v.replaceAll('*', 'x1'));
      } else {
        context[key] = values[0].replaceAll('*', 'x1');
      }
    }
  }
  return context;
}

/**
 * Requests on every (action, resource) of every statement of a policy: one that satisfies the statement (expected
 * allowed, or explicitly denied for a Deny), then variations left to the differential comparison: each condition
 * key missing or with another value, another account, another name or path.
 */
function casesFor(label: string, grants: Grant[]): Case[] {
  const policies: PolicySet = { identity: [doc(...grants.map(toStatement))] };
  const cases: Case[] = [];
  for (const grant of grants) {
    const base = satisfying(grant.conditions);
    for (const action of grant.actions) {
      for (const pattern of grant.resources) {
        const resource = instantiate(pattern);
        const add = (variant: string, request: AuthorizationRequest, expected?: Decision) =>
          cases.push({
            name: `${label}: ${action} on ${resource} ${variant}`,
            policies,
            request,
            ...(expected ? { expected } : { variation: true }),
          });
        add('(as granted)', rq(action, resource, base), grant.effect === 'Deny' ? 'ExplicitDeny' : 'Allowed');
        for (const [key, value] of Object.entries(base)) {
          const { [key]: _, ...without } = base;
          add(`without ${key}`, rq(action, resource, without));
          add(
            `with another ${key}`,
            rq(action, resource, { ...base, [key]: Array.isArray(value) ? [...value, 'Name'] : 'other' }),
          );
        }
        const parts = resource.split(':');
        if (parts[4] === ACCOUNT) {
          add(
            'in another account',
            rq(action, [...parts.slice(0, 4), OTHER, ...parts.slice(5)].join(':'), base),
          );
        }
        const id = parts.slice(5).join(':');
        const type = id.slice(0, id.search(/[/:]/) + 1);
        if (pattern !== '*' && id.slice(type.length) !== 'x1') {
          const renamed = `${type}other-${id.slice(type.length)}`;
          add('on another name or path', rq(action, [...parts.slice(0, 5), renamed].join(':'), base));
        }
      }
    }
  }
  return cases;
}

const FUNCTIONS = Object.keys(FUNCTION_ACTIONS) as GrantedFunction[];

/** The denials the policies exist for, on the InstanceRole role and the customer role. */
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/capideploy/capideploy-instance-boundary`;
const PROFILE = `arn:aws:iam::${ACCOUNT}:instance-profile/capideploy/capideploy-demo-instance`;
const iamDenials = (label: string, grants: Grant[]): Case[] => {
  const policies: PolicySet = { identity: [doc(...grants.map(toStatement))] };
  const c = (name: string, expected: Decision, request: AuthorizationRequest): Case => ({
    name: `${label}: ${name}`,
    expected,
    request,
    policies,
  });
  const core = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';
  const bounded = { 'iam:PermissionsBoundary': BOUNDARY_ARN };
  return [
    c('CreateRole with the boundary', 'Allowed', rq('iam:CreateRole', ROLE, bounded)),
    c(
      'CreateRole with another boundary',
      'ImplicitDeny',
      rq('iam:CreateRole', ROLE, { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/other` }),
    ),
    c('CreateRole without a boundary', 'ImplicitDeny', rq('iam:CreateRole', ROLE)),
    c('CreateRole off the path', 'ImplicitDeny', rq('iam:CreateRole', ROLE_NO_PATH, bounded)),
    c(
      'CreateRole in another account',
      'ImplicitDeny',
      rq('iam:CreateRole', `arn:aws:iam::${OTHER}:role/capideploy/x`, bounded),
    ),
    c('PutRolePolicy on a role without a boundary', 'ImplicitDeny', rq('iam:PutRolePolicy', ROLE)),
    c('PutRolePolicy on a bounded role', 'Allowed', rq('iam:PutRolePolicy', ROLE, bounded)),
    c(
      'AttachRolePolicy SSM core',
      'Allowed',
      rq('iam:AttachRolePolicy', ROLE, { ...bounded, 'iam:PolicyARN': core }),
    ),
    c(
      'AttachRolePolicy admin',
      'ImplicitDeny',
      rq('iam:AttachRolePolicy', ROLE, {
        ...bounded,
        'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    ),
    c('DetachRolePolicy SSM core', 'Allowed', rq('iam:DetachRolePolicy', ROLE, { 'iam:PolicyARN': core })),
    c('DeleteRolePermissionsBoundary', 'ExplicitDeny', rq('iam:DeleteRolePermissionsBoundary', ROLE)),
    c(
      'DeleteRolePermissionsBoundary off the path',
      'ExplicitDeny',
      rq('iam:DeleteRolePermissionsBoundary', ROLE_NO_PATH),
    ),
    c('PassRole to EC2', 'Allowed', rq('iam:PassRole', ROLE, { 'iam:PassedToService': 'ec2.amazonaws.com' })),
    c('PassRole without a service', 'Allowed', rq('iam:PassRole', ROLE)),
    c(
      'PassRole to Lambda',
      'ImplicitDeny',
      rq('iam:PassRole', ROLE, { 'iam:PassedToService': 'lambda.amazonaws.com' }),
    ),
    c(
      'PassRole off the path',
      'ImplicitDeny',
      rq('iam:PassRole', ROLE_NO_PATH, { 'iam:PassedToService': 'ec2.amazonaws.com' }),
    ),
    c('AddRoleToInstanceProfile', 'Allowed', rq('iam:AddRoleToInstanceProfile', PROFILE)),
    c('UpdateAssumeRolePolicy', 'ImplicitDeny', rq('iam:UpdateAssumeRolePolicy', ROLE)),
  ];
};

const otherCases: Case[] = [
  ...(['Preflight', 'Vpc'] as const).flatMap((fn) => {
    const policies: PolicySet = { identity: [doc(...renderGrants(fn, RENDER).map(toStatement))] };
    const operator = `arn:aws:iam::${CUSTOMER}:role/capideploy-operator-acme`;
    return [
      {
        name: `${fn}: AssumeRole with an external id`,
        expected: 'Allowed' as const,
        policies,
        request: rq('sts:AssumeRole', operator, { 'sts:ExternalId': 'e-1' }),
      },
      {
        name: `${fn}: AssumeRole without an external id`,
        expected: 'ImplicitDeny' as const,
        policies,
        request: rq('sts:AssumeRole', operator),
      },
      {
        name: `${fn}: AssumeRole of another role`,
        expected: 'ImplicitDeny' as const,
        policies,
        request: rq('sts:AssumeRole', `arn:aws:iam::${CUSTOMER}:role/admin`, { 'sts:ExternalId': 'e-1' }),
      },
    ];
  }),
  ...(() => {
    const vpc = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/vpc-1`;
    const policies: PolicySet = { identity: [doc(...renderGrants('Vpc', RENDER).map(toStatement))] };
    const c = (name: string, expected: Decision, request: AuthorizationRequest): Case => ({
      name: `Vpc: ${name}`,
      expected,
      policies,
      request,
    });
    const tag = 'aws:RequestTag/DeploymentOperator';
    return [
      c('CreateVpc tagged', 'Allowed', rq('ec2:CreateVpc', vpc, { [tag]: 'capideploy' })),
      c('CreateVpc with another tag value', 'ImplicitDeny', rq('ec2:CreateVpc', vpc, { [tag]: 'someone' })),
      c('CreateVpc untagged', 'ImplicitDeny', rq('ec2:CreateVpc', vpc)),
      c(
        'tag on create of the VPC',
        'Allowed',
        rq('ec2:CreateTags', vpc, { 'ec2:CreateAction': 'CreateVpc' }),
      ),
      c(
        'tag on create of another call',
        'ImplicitDeny',
        rq('ec2:CreateTags', vpc, { 'ec2:CreateAction': 'CreateSubnet' }),
      ),
      c('tag outside a create call', 'ImplicitDeny', rq('ec2:CreateTags', vpc)),
      c('DeleteVpc tagged', 'Allowed', rq('ec2:DeleteVpc', vpc, { [TAG]: 'capideploy' })),
      c('DeleteVpc of another operator', 'ImplicitDeny', rq('ec2:DeleteVpc', vpc, { [TAG]: 'someone' })),
      c('DeleteVpc untagged', 'ImplicitDeny', rq('ec2:DeleteVpc', vpc)),
      c('DescribeVpcs', 'Allowed', rq('ec2:DescribeVpcs', '*')),
      c(
        'CreateRole (not its job)',
        'ImplicitDeny',
        rq('iam:CreateRole', ROLE, { 'iam:PermissionsBoundary': BOUNDARY_ARN }),
      ),
      c(
        'TerminateInstances (not its job)',
        'ImplicitDeny',
        rq('ec2:TerminateInstances', INSTANCE, { [TAG]: 'capideploy' }),
      ),
    ];
  })(),
  ...(() => {
    const policies: PolicySet = { identity: [doc(...renderGrants('Provisioning', RENDER).map(toStatement))] };
    const c = (name: string, expected: Decision, context: Record<string, ContextValue>): Case => ({
      name: `Provisioning: ${name}`,
      expected,
      policies,
      request: rq('ec2:CreateTags', INSTANCE, context),
    });
    return [
      c('marks a tagged instance', 'Allowed', {
        [TAG]: 'capideploy',
        'aws:TagKeys': ['capideploy:capi-cassandra'],
      }),
      c('sets a foreign tag key', 'ImplicitDeny', {
        [TAG]: 'capideploy',
        'aws:TagKeys': ['capideploy:x', 'Name'],
      }),
      c('marks an instance of another operator', 'ImplicitDeny', {
        [TAG]: 'other',
        'aws:TagKeys': ['capideploy:x'],
      }),
    ];
  })(),
  ...(() => {
    const policies: PolicySet = {
      identity: [doc(...renderGrants('DeploymentsApi', RENDER).map(toStatement))],
    };
    const machine = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${name}`;
    return [
      {
        name: 'DeploymentsApi: starts the create machine',
        expected: 'Allowed' as const,
        policies,
        request: rq('states:StartExecution', machine('capideploy-create-deployment')),
      },
      {
        name: 'DeploymentsApi: starts another machine',
        expected: 'ImplicitDeny' as const,
        policies,
        request: rq('states:StartExecution', machine('other')),
      },
      {
        name: 'DeploymentsApi: stops an execution',
        expected: 'ImplicitDeny' as const,
        policies,
        request: rq(
          'states:StopExecution',
          `arn:aws:states:us-east-1:${ACCOUNT}:execution:capideploy-create-deployment:run-1`,
        ),
      },
    ];
  })(),
];

/** The instance boundary, with an identity policy that allows everything (the boundary alone limits). */
const boundaryCases = (): Case[] => {
  const boundary = [doc(...renderInstanceBoundary(RENDER).map(toStatement))];
  const everything: PolicySet = { identity: [doc(allow('*'))], boundary };
  const narrow: PolicySet = {
    identity: [
      doc(
        allow(
          ['ssm:GetParameter', 'ssm:GetParameters'],
          `arn:aws:ssm:*:${ACCOUNT}:parameter/capideploy/demo/*`,
        ),
      ),
    ],
    boundary,
  };
  const parameter = (path: string) => `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/${path}`;
  const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0000-1111`;
  const logGroup = (name: string) => `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${name}`;
  const c = (
    name: string,
    expected: Decision,
    request: AuthorizationRequest,
    policies = everything,
  ): Case => ({
    name: `instance boundary: ${name}`,
    expected,
    request,
    policies,
  });
  return [
    c('reads a deployment secret', 'Allowed', rq('ssm:GetParameter', parameter('capideploy/demo/db'))),
    c('reads another parameter', 'ImplicitDeny', rq('ssm:GetParameter', parameter('other/db'))),
    c(
      'inline policy narrows to its deployment',
      'Allowed',
      rq('ssm:GetParameter', parameter('capideploy/demo/db')),
      narrow,
    ),
    c(
      'inline policy: another deployment',
      'ImplicitDeny',
      rq('ssm:GetParameter', parameter('capideploy/other/db')),
      narrow,
    ),
    c(
      'decrypts through SSM',
      'Allowed',
      rq('kms:Decrypt', key, { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com' }),
    ),
    c('decrypts directly', 'ImplicitDeny', rq('kms:Decrypt', key)),
    c(
      'decrypts through S3',
      'ImplicitDeny',
      rq('kms:Decrypt', key, { 'kms:ViaService': 's3.us-east-1.amazonaws.com' }),
    ),
    c('reads an object', 'Allowed', rq('s3:GetObject', 'arn:aws:s3:::capi-bucket/demo/x.csv')),
    c('lists a bucket', 'Allowed', rq('s3:ListBucket', 'arn:aws:s3:::capi-bucket')),
    c('deletes a bucket', 'ImplicitDeny', rq('s3:DeleteBucket', 'arn:aws:s3:::capi-bucket')),
    c(
      'writes its logs',
      'Allowed',
      rq('logs:PutLogEvents', `${logGroup('/capideploy/demo')}:log-stream:i-1`),
    ),
    c('creates another log group', 'ImplicitDeny', rq('logs:CreateLogGroup', logGroup('/other'))),
    c('SSM agent messages', 'Allowed', rq('ec2messages:GetMessages', '*')),
    c('creates a role', 'ImplicitDeny', rq('iam:CreateRole', ROLE)),
    c('launches an instance', 'ImplicitDeny', rq('ec2:RunInstances', INSTANCE)),
    c('assumes a role', 'ImplicitDeny', rq('sts:AssumeRole', ROLE)),
  ];
};

// ---------------------------------------------------------------------------------------------------------------
// c. Recorded requests

const CORPUS = JSON.parse(readFileSync(new URL('./iam-corpus.json', import.meta.url), 'utf8')) as Case[];

describe('evaluate.ts agrees with iam-simulate', () => {
  it('has enough crafted cases', () => {
    expect(CRAFTED.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CRAFTED)('crafted: $name', async (c) => {
    expect(await compare(c)).toBeUndefined();
  });

  it.each(FUNCTIONS)('the role of %s, on every action and resource it is granted', async (fn) => {
    const grants = renderGrants(fn, RENDER);
    const cases = casesFor(fn, grants);
    const granted = new Set(cases.filter((c) => c.expected === 'Allowed').map((c) => c.request.action));
    expect(FUNCTION_ACTIONS[fn].filter((action) => !granted.has(action))).toEqual([]);
    await checkAll(cases);
  });

  it('the customer role, on every action and resource it is granted', async () => {
    await checkAll(casesFor('customer', renderCustomerGrants(RENDER)));
  });

  it('the no-escalation rules of InstanceRole and of the customer role', async () => {
    await checkAll([
      ...iamDenials('InstanceRole', renderGrants('InstanceRole', RENDER)),
      ...iamDenials('customer', renderCustomerGrants(RENDER)),
    ]);
  });

  it('targeted requests on the workflow roles', async () => {
    await checkAll(otherCases);
  });

  it('the instance boundary', async () => {
    await checkAll(boundaryCases());
  });

  it('the recorded corpus (test/sim/iam-corpus.json)', async () => {
    expect(CORPUS.length).toBeGreaterThan(0);
    await checkAll(CORPUS);
  });
});

/**
 * Where iam-simulate departs from the IAM User Guide, evaluate.ts follows the guide. Pinned here so that a change on
 * either side is noticed.
 */
describe('known departures of iam-simulate from the IAM User Guide', () => {
  it('ForAnyValue:…IfExists on a missing key: IfExists makes it true (reference_policies_elements_condition_operators)', async () => {
    const c = deleteVpcIf(
      'ForAnyValue IfExists missing',
      'Allowed',
      { 'ForAnyValue:StringEqualsIfExists': { 'aws:CalledVia': 'x' } },
      {},
    );
    expect(authorize(c.request, c.policies).decision).toBe('Allowed');
    expect(await reference(c)).toBe('ImplicitDeny');
  });

  it('a Date value in epoch seconds equals the same instant in ISO 8601', async () => {
    const c = deleteVpcIf(
      'DateEquals epoch vs ISO',
      'Allowed',
      { DateEquals: { 'aws:CurrentTime': '1577836800' } },
      {
        'aws:CurrentTime': '2020-01-01T00:00:00Z',
      },
    );
    expect(authorize(c.request, c.policies).decision).toBe('Allowed');
    expect(await reference(c)).toBe('ImplicitDeny');
  });

  it('a policy without Version 2012-10-17 has no variables: they are literal text (reference_policies_variables)', async () => {
    const c: Case = {
      name: 'variable without Version',
      request: rq('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/alice`, {
        'aws:username': 'alice',
      }),
      policies: {
        identity: [
          { Statement: allow('iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/capideploy/\${aws:username}`) },
        ],
      },
    };
    expect(authorize(c.request, c.policies).decision).toBe('ImplicitDeny');
    expect(await reference(c)).toBe('Allowed');
  });
});
