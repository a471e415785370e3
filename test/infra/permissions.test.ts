import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/handler-function.js';
import { FUNCTIONS, handlerEntry } from '../../src/core/catalogue.js';
import {
  FUNCTION_ACTIONS,
  type Grant,
  type GrantedFunction,
  IMPLIED_ACTIONS,
  INSTANCE_ROLE_PATH,
  REGISTRY_READ,
  type RenderContext,
  renderCustomerGrants,
  renderGrants,
  UNGATED_ACTIONS,
} from '../../src/core/permissions.js';
import { callsIn, sdkCalls } from './sdk-calls.js';

const context: RenderContext = {
  partition: 'aws',
  account: '111122223333',
  createMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:CapiDeploy-create-deployment',
  deleteMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:CapiDeploy-delete-deployment',
  stopMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:CapiDeploy-stop-deployment',
  startMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:CapiDeploy-start-deployment',
  imagesCreateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:CapiDeploy-images-create',
  imagesDeleteMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:CapiDeploy-images-delete',
  createExecutions: 'arn:aws:states:eu-west-1:111122223333:execution:CapiDeploy-create-deployment:*',
  deleteExecutions: 'arn:aws:states:eu-west-1:111122223333:execution:CapiDeploy-delete-deployment:*',
  stopExecutions: 'arn:aws:states:eu-west-1:111122223333:execution:CapiDeploy-stop-deployment:*',
  startExecutions: 'arn:aws:states:eu-west-1:111122223333:execution:CapiDeploy-start-deployment:*',
  imagesCreateExecutions: 'arn:aws:states:eu-west-1:111122223333:execution:CapiDeploy-images-create:*',
  imagesDeleteExecutions: 'arn:aws:states:eu-west-1:111122223333:execution:CapiDeploy-images-delete:*',
  commandOutputBucketArn: 'arn:aws:s3:::capideploy-command-output',
};

const entryOf = (fn: GrantedFunction) =>
  fn === 'DeploymentsApi' ? 'infra/api/handler.ts' : handlerEntry(fn);
/** Every function with a role: the workflow's and the API's. */
const withRole: GrantedFunction[] = [...FUNCTIONS, 'DeploymentsApi'];
/** The actions a policy allows (its explicit denies grant nothing). */
const grantedActions = (grants: Grant[]) =>
  new Set(grants.filter((grant) => grant.effect !== 'Deny').flatMap((grant) => grant.actions));
const sorted = (values: Iterable<string>) => [...values].sort();

describe('the permission table (src/core/permissions.ts)', () => {
  it('has a row for every function of FUNCTIONS and for the API', () => {
    expect(sorted(Object.keys(FUNCTION_ACTIONS))).toEqual(sorted(withRole));
  });

  it('covers the functions that call AWS through the shared clients factory', () => {
    // Assess: a sanity check of the parser on the file every handler reaches
    expect(sorted(sdkCalls(handlerEntry('Vpc'), REPO_ROOT).actions.keys())).toEqual([
      'ec2:CreateVpc',
      'ec2:DeleteVpc',
      'ec2:DescribeVpcs',
      'ssm:GetParameter',
      'sts:AssumeRole',
      'sts:GetCallerIdentity',
    ]);
  });

  it('reads aliased, multi-line and namespace imports, and ignores type-only ones', () => {
    const text = [
      "import {\n  DescribeVpcsCommand as Describe,\n  type CreateVpcCommand,\n} from '@aws-sdk/client-ec2';",
      "import type { DeleteVpcCommand } from '@aws-sdk/client-ec2';",
      "import * as ssm from '@aws-sdk/client-ssm';",
      'await ec2.send(new Describe({}));',
      'await client.send(new ssm.SendCommandCommand({}));',
      'const unused = CreateVpcCommand; const alsoUnused = DeleteVpcCommand;',
    ].join('\n');
    expect(sorted(callsIn(text))).toEqual(['ec2:DescribeVpcs', 'ssm:SendCommand']);
  });

  describe.each(withRole)('%s', (fn) => {
    const called = sdkCalls(entryOf(fn), REPO_ROOT).actions;
    const granted = grantedActions(renderGrants(fn, context));

    it('is granted every action its code calls', () => {
      const notGranted = [...called.keys()].filter(
        (action) => !granted.has(action) && !UNGATED_ACTIONS.includes(action),
      );
      expect(
        notGranted.map((action) => `${action} (called in ${called.get(action)!.join(', ')})`),
        `add these to FUNCTION_ACTIONS.${fn}`,
      ).toEqual([]);
    });

    it('is granted no action its code does not call', () => {
      const needed = new Set(
        [...called.keys()].flatMap((action) => [action, ...(IMPLIED_ACTIONS[action] ?? [])]),
      );
      expect(
        [...granted].filter((action) => !needed.has(action)),
        `remove these from FUNCTION_ACTIONS.${fn}`,
      ).toEqual([]);
    });
  });
});

describe('the rendered policies', () => {
  const all: [string, Grant[]][] = [
    ...(Object.keys(FUNCTION_ACTIONS) as GrantedFunction[]).map(
      (fn) => [fn, renderGrants(fn, context)] as [string, Grant[]],
    ),
    ['customer role', renderCustomerGrants(context)],
  ];
  const statements = all.flatMap(([owner, grants]) => grants.map((grant) => ({ owner, ...grant })));

  it('name no wildcard action anywhere', () => {
    expect(
      statements.filter((statement) => statement.actions.some((action) => action.includes('*'))),
    ).toEqual([]);
  });

  it('condition every mutating EC2 action on the DeploymentOperator tag, or name the untaggable resources', () => {
    const untaggable = ['arn:aws:ec2:*::image/*', 'arn:aws:ec2:*:111122223333:security-group-rule/*'];
    const unconditioned = statements.filter((statement) => {
      const mutating = statement.actions.some(
        (action) => action.startsWith('ec2:') && !action.startsWith('ec2:Describe'),
      );
      const condition = JSON.stringify(statement.conditions ?? {});
      const tagged =
        condition.includes('aws:RequestTag/DeploymentOperator') ||
        condition.includes('aws:ResourceTag/DeploymentOperator') ||
        condition.includes('ec2:CreateAction');
      return mutating && !tagged && !statement.resources.every((resource) => untaggable.includes(resource));
    });
    expect(unconditioned).toEqual([]);
  });

  it('use aws:RequestTag for create calls and aws:ResourceTag for changes and deletes', () => {
    const vpc = renderGrants('Vpc', context);
    expect(vpc).toContainEqual(
      expect.objectContaining({
        actions: ['ec2:CreateVpc'],
        conditions: { StringEquals: { 'aws:RequestTag/DeploymentOperator': 'capideploy' } },
      }),
    );
    expect(vpc).toContainEqual(
      expect.objectContaining({
        actions: ['ec2:DeleteVpc'],
        conditions: { StringEquals: { 'aws:ResourceTag/DeploymentOperator': 'capideploy' } },
      }),
    );
  });

  it('allow iam:PassRole only on the instance roles path', () => {
    const passRole = statements.filter((statement) => statement.actions.includes('iam:PassRole'));
    expect(passRole.length).toBeGreaterThan(0);
    for (const statement of passRole) {
      expect(statement.resources).toEqual([`arn:aws:iam::111122223333:role${INSTANCE_ROLE_PATH}*`]);
    }
  });

  it('allow sts:AssumeRole only on capideploy-operator roles, with an external id', () => {
    const assume = statements.filter((statement) => statement.actions.includes('sts:AssumeRole'));
    for (const statement of assume) {
      expect(statement.resources).toEqual(['arn:aws:iam::*:role/capideploy-operator*']);
      expect(statement.conditions).toEqual({ Null: { 'sts:ExternalId': 'false' } });
    }
  });

  it('give the customer role exactly what the workflow calls in the customer account', () => {
    const workflow = (Object.keys(FUNCTION_ACTIONS) as GrantedFunction[])
      .filter((fn) => fn !== 'DeploymentsApi')
      .flatMap((fn) => [...grantedActions(renderGrants(fn, context))])
      .filter((action) => action !== 'sts:AssumeRole' && !REGISTRY_READ.includes(action));
    expect(sorted(grantedActions(renderCustomerGrants(context)))).toEqual(sorted(new Set(workflow)));
  });

  it('let every function that assumes read the customers registry, in the operator account only', () => {
    const registry = 'arn:aws:ssm:*:111122223333:parameter/capideploy/customers/*';
    for (const fn of FUNCTIONS.filter((name) => FUNCTION_ACTIONS[name].includes('sts:AssumeRole'))) {
      const reads = renderGrants(fn, context).filter((grant) => grant.actions.includes('ssm:GetParameter'));
      expect(reads, fn).toEqual([
        expect.objectContaining({ actions: ['ssm:GetParameter'], resources: [registry] }),
      ]);
    }
    // The operator account even when the resources' account differs.
    const read = renderGrants('Vpc', { ...context, operatorAccount: '999988887777' }).find((grant) =>
      grant.actions.includes('ssm:GetParameter'),
    );
    expect(read?.resources).toEqual(['arn:aws:ssm:*:999988887777:parameter/capideploy/customers/*']);
    // Never in the customer role: the registry is read with the Lambda's own role, in the operator account.
    expect(JSON.stringify(renderCustomerGrants(context))).not.toContain('customers');
  });

  it('let the API write only the customers registry', () => {
    const ssm = renderGrants('DeploymentsApi', context).filter((grant) =>
      grant.actions.some((action) => action.startsWith('ssm:')),
    );
    expect(ssm.flatMap((grant) => grant.resources)).toEqual([
      'arn:aws:ssm:*:111122223333:parameter/capideploy/customers/*',
    ]);
    expect(ssm.flatMap((grant) => grant.actions).sort()).toEqual([
      'ssm:AddTagsToResource',
      'ssm:DeleteParameter',
      'ssm:GetParametersByPath',
      'ssm:PutParameter',
    ]);
  });

  it('correct the seed IAM document: SSM and IAM actions added, unused ones dropped', () => {
    const customer = grantedActions(renderCustomerGrants(context));
    for (const added of ['ssm:SendCommand', 'ssm:PutParameter', 'iam:CreateRole', 'iam:PassRole']) {
      expect(customer).toContain(added);
    }
    // Listed by the seed but called by nothing here (key pairs are not part of this workflow). The seed's
    // ec2:CreateImage and ec2:DeleteSnapshot are called since issue 17 (images create / images delete).
    for (const dropped of ['ec2:DescribeKeyPairs', 'ec2:DescribeTags']) {
      expect(customer).not.toContain(dropped);
    }
  });
});
