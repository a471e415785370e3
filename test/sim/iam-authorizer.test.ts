import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY } from '../../src/sim/account.js';
import { authorizeCall, rolePrincipal } from '../../src/sim/iam/authorizer.js';
import { type IamState, INSTANCE_BOUNDARY } from '../../src/sim/services/iam.js';
import { openAccount } from '../../src/sim/services/index.js';

/** IAM evaluation of the simulator: the escalation guard, boundaries, and each service's denial. */
const ACCOUNT = '123456789012';
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy${INSTANCE_BOUNDARY.path}${INSTANCE_BOUNDARY.name}`;
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

const newAccount = () => openAccount(null, { documents: {}, callLatency: false });
type Account = ReturnType<typeof newAccount>;

/** A call as a workflow function's role (InstanceRole by default), or as the operator (the CLI: not evaluated). */
const call = (
  account: Account,
  service: string,
  operation: string,
  input: Record<string, unknown>,
  caller: 'InstanceRole' | 'Vpc' | 'Secrets' | 'operator' = 'InstanceRole',
) =>
  account.handle(service, operation, input, {
    accessKeyId: OPERATOR_ACCESS_KEY,
    region: 'us-east-1',
    fn: caller === 'operator' ? undefined : caller,
  });

const createRole = (
  account: Account,
  extra: Record<string, unknown> = {},
  caller: 'InstanceRole' | 'operator' = 'operator',
) =>
  call(
    account,
    'IAM',
    'CreateRole',
    { RoleName: 'capideploy-demo-instance', Path: '/capideploy/', AssumeRolePolicyDocument: TRUST, ...extra },
    caller,
  );

describe('no escalation: roles the workflow creates carry the instance boundary', () => {
  it('CreateRole without the boundary is refused, naming the action and the role', async () => {
    await expect(createRole(newAccount(), {}, 'InstanceRole')).rejects.toMatchObject({
      name: 'AccessDenied',
      message:
        'User: arn:aws:sts::123456789012:assumed-role/capideploy-instance-role/capideploy-instance-role is not ' +
        'authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/capideploy/' +
        'capideploy-demo-instance because no identity-based policy allows the iam:CreateRole action',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('CreateRole with another boundary is refused; with the instance boundary it is allowed', async () => {
    const account = newAccount();
    const other = `arn:aws:iam::${ACCOUNT}:policy/AdministratorAccess`;
    await expect(createRole(account, { PermissionsBoundary: other }, 'InstanceRole')).rejects.toThrow(
      /iam:CreateRole/,
    );
    await expect(
      createRole(account, { PermissionsBoundary: BOUNDARY }, 'InstanceRole'),
    ).resolves.toMatchObject({
      Role: { RoleName: 'capideploy-demo-instance' },
    });
  });

  it('PutRolePolicy on a role without the boundary is refused', async () => {
    const account = newAccount();
    await createRole(account); // by the operator: not evaluated, no boundary
    const policy = { RoleName: 'capideploy-demo-instance', PolicyName: 'p', PolicyDocument: TRUST };
    await expect(call(account, 'IAM', 'PutRolePolicy', policy)).rejects.toThrow(
      /not authorized to perform: iam:PutRolePolicy on resource: role capideploy-demo-instance because/,
    );
  });

  it('DeleteRolePermissionsBoundary is explicitly denied', async () => {
    const account = newAccount();
    await createRole(account, { PermissionsBoundary: BOUNDARY });
    await expect(
      call(account, 'IAM', 'DeleteRolePermissionsBoundary', { RoleName: 'capideploy-demo-instance' }),
    ).rejects.toThrow(
      /iam:DeleteRolePermissionsBoundary .* with an explicit deny in an identity-based policy/,
    );
  });

  it('a role that does not exist is read as role/<name>: the probe of ours answers NoSuchEntity, any other AccessDenied', async () => {
    const account = newAccount();
    await expect(
      call(account, 'IAM', 'GetRole', { RoleName: 'capideploy-demo-instance' }),
    ).rejects.toMatchObject({
      name: expect.stringMatching(/^NoSuchEntity/),
    });
    await expect(call(account, 'IAM', 'GetRole', { RoleName: 'someone-elses-role' })).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('iam:GetRole on resource: role someone-elses-role because'),
    });
  });
});

describe('the instance boundary caps whatever an instance role is given', () => {
  it('an instance role allowed everything can still only do what the boundary allows', async () => {
    const account = newAccount();
    await createRole(account, { PermissionsBoundary: BOUNDARY });
    const everything = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    account.stateOf<IamState>('IAM').roles['capideploy-demo-instance'].InlinePolicies.all = everything;
    const principal = rolePrincipal(
      account.stateOf('IAM'),
      `arn:aws:iam::${ACCOUNT}:role/capideploy/capideploy-demo-instance`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/capideploy-demo-instance/i-0abc`,
    );
    const view = (service: string, operation: string, input: object) => ({
      service,
      operation,
      input,
      region: 'us-east-1',
      account: ACCOUNT,
      state: <S>(name: string) => account.stateOf<S>(name),
    });
    await expect(
      authorizeCall(view('SSM', 'GetParameter', { Name: '/capideploy/demo/cassandra/password' }), principal),
    ).resolves.toBeUndefined();
    await expect(
      authorizeCall(view('SSM', 'GetParameter', { Name: '/other/secret' }), principal),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('because no permissions boundary allows the ssm:GetParameter action'),
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      authorizeCall(view('IAM', 'CreateRole', { RoleName: 'x', AssumeRolePolicyDocument: TRUST }), principal),
    ).rejects.toThrow(/no permissions boundary allows the iam:CreateRole action/);
  });
});

describe('denials answer as each service does on AWS', () => {
  it('EC2: UnauthorizedOperation with an encoded authorization failure message', async () => {
    await expect(
      call(newAccount(), 'EC2', 'CreateVpc', { CidrBlock: '10.0.0.0/16' }, 'Vpc'),
    ).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
      message: expect.stringMatching(
        /^You are not authorized to perform this operation\. User: arn:aws:sts::123456789012:assumed-role\/capideploy-vpc\/capideploy-vpc is not authorized to perform: ec2:CreateVpc on resource: arn:aws:ec2:us-east-1:123456789012:vpc\/\* because no identity-based policy allows the ec2:CreateVpc action\. Encoded authorization failure message: [\w-]+$/,
      ),
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('EC2: sts:DecodeAuthorizationMessage decodes the encoded message: principal, action, resource', async () => {
    const account = newAccount();
    const denial = await call(account, 'EC2', 'CreateVpc', { CidrBlock: '10.0.0.0/16' }, 'Vpc').catch(
      (error: Error) => error,
    );
    const encoded =
      /Encoded authorization failure message: (\S+)$/.exec((denial as Error).message)?.[1] ?? '';
    const answer = (await call(
      account,
      'STS',
      'DecodeAuthorizationMessage',
      { EncodedMessage: encoded },
      'operator',
    )) as {
      DecodedMessage: string;
    };
    expect(JSON.parse(answer.DecodedMessage)).toEqual({
      allowed: false,
      explicitDeny: false,
      context: {
        principal: { arn: 'arn:aws:sts::123456789012:assumed-role/capideploy-vpc/capideploy-vpc' },
        action: 'ec2:CreateVpc',
        resource: 'arn:aws:ec2:us-east-1:123456789012:vpc/*',
      },
    });
    await expect(
      call(account, 'STS', 'DecodeAuthorizationMessage', { EncodedMessage: 'not-ours' }, 'operator'),
    ).rejects.toMatchObject({ name: 'InvalidAuthorizationMessageException' });
  });

  it('EC2: a request tagging the VPC DeploymentOperator=capideploy is allowed', async () => {
    const tags = [{ Key: 'DeploymentOperator', Value: 'capideploy' }];
    await expect(
      call(
        newAccount(),
        'EC2',
        'CreateVpc',
        { CidrBlock: '10.0.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: tags }] },
        'Vpc',
      ),
    ).resolves.toMatchObject({ Vpc: { CidrBlock: '10.0.0.0/16' } });
  });

  it('SSM: AccessDeniedException (HTTP 400) outside /capideploy/', async () => {
    await expect(
      call(
        newAccount(),
        'SSM',
        'PutParameter',
        { Name: '/elsewhere/x', Value: 'v', Type: 'SecureString' },
        'Secrets',
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
  });

  it('the Secrets role may write deployment secrets but never the customers registry beside them', async () => {
    const account = newAccount();
    const put = (Name: string) =>
      call(account, 'SSM', 'PutParameter', { Name, Value: 'v', Type: 'SecureString' }, 'Secrets');
    await expect(put('/capideploy/demo/rabbitmq/admin-password')).resolves.toBeDefined();
    await expect(put('/capideploy/customers/acme')).rejects.toThrow(
      /ssm:PutParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter\/capideploy\/customers\/acme with an explicit deny/,
    );
  });

  it('the operator (the CLI) is not evaluated', async () => {
    await expect(
      call(newAccount(), 'EC2', 'CreateVpc', { CidrBlock: '10.0.0.0/16' }, 'operator'),
    ).resolves.toBeDefined();
  });
});
