import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aws, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.js';
import {
  type CapiDeployStack,
  functionsOf,
  machineFile,
  missingHandlers,
  missingHandlersMessage,
  placeholders,
} from '../../infra/capi-deploy-stack.js';
import type { CustomerRoleStack } from '../../infra/customer-role-stack.js';
import { stubFunction } from '../../infra/handler-function.js';
import { arnKey, FUNCTIONS, MACHINE_NAMES } from '../../src/core/catalogue.js';
import { PROVISIONING_DOCUMENTS } from '../../src/core/documents.js';
import { type GrantedFunction, renderCustomerGrants, renderGrants } from '../../src/core/permissions.js';
import { loadDocuments } from '../../src/provisioning/documents.js';

/**
 * The CDK app, synthesized once for the file, offline, with cdk-nag's AwsSolutions pack as a validation plugin.
 * Each Lambda has inline stub code instead of its esbuild bundle (`stubFunction`): the template is the app's but for
 * the code asset. bundling.test.ts bundles for real.
 */
const outdir = mkdtempSync(join(tmpdir(), 'capideploy-cdk-'));
let app: App;
let operator: CapiDeployStack;
let customer: CustomerRoleStack;
let op: Template;
let cu: Template;
let violations: { ruleName: string; violatingResources: { constructPath?: string }[] }[];
let assemblyDir: string;

beforeAll(() => {
  app = new App({ outdir });
  ({ operator, customer } = buildApp(app, { functionFactory: stubFunction }));
  violations = new AwsSolutionsChecks().validateScope(app).violations;
  // synth runs the validation plugin too: an unacknowledged finding throws here.
  assemblyDir = app.synth().directory;
  op = Template.fromStack(operator);
  cu = Template.fromStack(customer);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const logicalId = (construct: IConstruct) =>
  Stack.of(construct).resolve(Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement));

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };
const list = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);
const normal = (statement: Statement) =>
  JSON.stringify({
    Effect: statement.Effect,
    Action: list(statement.Action).sort(),
    Resource: list(statement.Resource),
    Condition: statement.Condition ?? null,
  });

/** Every statement of the policies attached to a role of a template (CDK moves overflow into managed policies). */
function statementsOf(template: Template, roleLogicalId: string): Statement[] {
  const policies = [
    ...Object.values(template.findResources('AWS::IAM::Policy')),
    ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
  ];
  return policies.flatMap((policy) =>
    ((policy.Properties.Roles ?? []) as unknown[]).some(
      (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
    )
      ? (policy.Properties.PolicyDocument.Statement as Statement[])
      : [],
  );
}

/** Every IAM policy document of a template: inline, managed, bucket, trust. */
function policyDocuments(template: Template): { Statement: Statement[] }[] {
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: any }> };
  return Object.values(json.Resources).flatMap(({ Type, Properties }) => {
    if (
      Type === 'AWS::IAM::Policy' ||
      Type === 'AWS::IAM::ManagedPolicy' ||
      Type === 'AWS::S3::BucketPolicy'
    ) {
      return [Properties.PolicyDocument];
    }
    if (Type === 'AWS::IAM::Role') {
      return [
        Properties.AssumeRolePolicyDocument,
        ...(Properties.Policies ?? []).map((policy: { PolicyDocument: unknown }) => policy.PolicyDocument),
      ];
    }
    return [];
  });
}

describe('cdk-nag (AwsSolutions)', () => {
  it('finds nothing unacknowledged in either stack', () => {
    expect(
      violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(assemblyDir).toBeTruthy();
  });

  it('has a written reason on every acknowledgment', () => {
    const acknowledged = app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      )
      .map(([id, reason]) => ({ id, reason }));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged) {
      expect(reason.length, `reason of ${id}`).toBeGreaterThanOrEqual(40);
    }
    // Wildcard resources are acknowledged one by one, never as a whole rule.
    expect(acknowledged.filter(({ id }) => /IAM5$/.test(id))).toEqual([]);
  });
});

describe('handlers', () => {
  it('refuses to synthesize, naming each file, when the ASL calls a function without a handler', () => {
    // Prepare: a tree where two handler files are absent
    const gone = ['functions/vpc/handler.ts', 'functions/subnets/handler.ts'];
    // Act
    const absent = missingHandlers((entry) => !gone.includes(entry));
    // Assess
    expect(absent).toEqual(['Vpc', 'Subnets']);
    expect(missingHandlersMessage(absent)).toBe(
      'the state machines reference functions without a handler: Vpc (functions/vpc/handler.ts), Subnets (functions/subnets/handler.ts)',
    );
  });

  it('finds every handler the state machines call', () => {
    expect(missingHandlers()).toEqual([]);
  });

  it('has one Lambda per function of the catalogue, plus the API', () => {
    expect(Object.keys(operator.functions)).toEqual([...FUNCTIONS]);
    op.resourceCountIs('AWS::Lambda::Function', FUNCTIONS.length + 1);
  });

  it('runs every Lambda on nodejs22.x, arm64, traced, with JSON logs into its own log group', () => {
    const functions = op.findResources('AWS::Lambda::Function');
    for (const [id, { Properties }] of Object.entries(functions)) {
      expect(Properties.Runtime, id).toBe('nodejs22.x');
      expect(Properties.Architectures, id).toEqual(['arm64']);
      expect(Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(Properties.LoggingConfig.LogFormat, id).toBe('JSON');
      expect(Object.keys(Properties.LoggingConfig.LogGroup), id).toEqual(['Ref']);
      expect(Properties.Handler, id).toBe('index.handler');
    }
    for (const { Properties } of Object.values(op.findResources('AWS::Logs::LogGroup'))) {
      expect(Properties.RetentionInDays).toBe(30);
    }
  });

  it('deploys each function with its timeout from the catalogue (literal values, not the table)', () => {
    const expected: Record<string, number> = Object.fromEntries(FUNCTIONS.map((fn) => [fn, 60]));
    expected.Provisioning = 120;
    for (const fn of FUNCTIONS) {
      const id = logicalId(operator.functions[fn]);
      expect(op.toJSON().Resources[id].Properties.Timeout, fn).toBe(expected[fn]);
    }
  });

  it('tells Provisioning and InstanceRole where command output goes', () => {
    const bucket = logicalId(operator.commandOutputBucket);
    for (const fn of ['Provisioning', 'InstanceRole'] as const) {
      op.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.handler',
        Role: { 'Fn::GetAtt': [logicalId(operator.roles[fn]!), 'Arn'] },
        Environment: { Variables: Match.objectLike({ COMMAND_OUTPUT_BUCKET: { Ref: bucket } }) },
      });
    }
  });
});

describe('observability (issue 16)', () => {
  it('sets the Powertools log level, service and EMF namespace on every workflow Lambda', () => {
    for (const fn of FUNCTIONS) {
      const id = logicalId(operator.functions[fn]);
      expect(op.toJSON().Resources[id].Properties.Environment.Variables, fn).toMatchObject({
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_SERVICE_NAME: 'capideploy',
        POWERTOOLS_METRICS_NAMESPACE: 'CapiDeploy',
      });
    }
  });

  it("gives InstanceRole the rotated KMS key of the clusters' log groups, usable by CloudWatch Logs for them only", () => {
    const keys = op.findResources('AWS::KMS::Key');
    const [keyId, key] = Object.entries(keys).find(([id]) => id.startsWith('ClusterLogs'))!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('log-group:/capideploy/*');
    const id = logicalId(operator.functions.InstanceRole);
    expect(op.toJSON().Resources[id].Properties.Environment.Variables.LOGS_KMS_KEY_ARN).toEqual({
      'Fn::GetAtt': [keyId, 'Arn'],
    });
  });

  it('deploys the Logs Insights saved queries', () => {
    const names = Object.values(op.findResources('AWS::Logs::QueryDefinition')).map(
      (query) => query.Properties.Name,
    );
    expect(names.sort()).toEqual([
      'capideploy/cluster-errors-by-node',
      'capideploy/provisioning-commands',
      'capideploy/workflow-slowest-steps',
    ]);
  });
});

describe('least privilege', () => {
  it('gives each Lambda role exactly the statements of the permission table, plus its logs and X-Ray', () => {
    for (const [fn, role] of Object.entries(operator.roles) as [GrantedFunction, NonNullable<unknown>][]) {
      // Prepare
      const expected = renderGrants(fn, operator.renderContext).map((grant) =>
        normal({
          Action: grant.actions,
          Resource: operator.resolve(grant.resources),
          ...(grant.conditions ? { Condition: operator.resolve(grant.conditions) } : {}),
          Effect: grant.effect ?? 'Allow',
        }),
      );
      // Act
      const actual = statementsOf(op, logicalId(role as IConstruct));
      // The function's own log group and X-Ray, which CDK adds (the table's logs: grants are the clusters' groups).
      const added = (a: string) => /^(xray:|logs:(CreateLogStream|PutLogEvents)$)/.test(a);
      const own = actual.filter((statement) => !list(statement.Action).some(added));
      const extra = actual.filter((statement) => list(statement.Action).some(added));
      // Assess
      expect(own.map(normal).sort(), fn).toEqual(expected.sort());
      expect(extra.map((statement) => list(statement.Action).sort()).sort(), fn).toEqual([
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      ]);
    }
  });

  it('lets each function write logs to its own log group only', () => {
    for (const [fn, handler] of Object.entries(operator.functions)) {
      const logs = statementsOf(op, logicalId(operator.roles[fn as GrantedFunction]!)).find((statement) =>
        list(statement.Action).includes('logs:PutLogEvents'),
      );
      expect(logs?.Resource, fn).toEqual({ 'Fn::GetAtt': [logicalId(handler.logGroup), 'Arn'] });
    }
  });

  it('allows no wildcard action in any policy of either stack', () => {
    // The one Deny with s3:* is the bucket's TLS-only guard: denying every action is what makes it a guard.
    const actions = [op, cu].flatMap((template) =>
      policyDocuments(template).flatMap((document) =>
        document.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)),
      ),
    );
    expect(actions.length).toBeGreaterThan(50);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('allows iam:PassRole only on the instance roles path', () => {
    const passRole = [op, cu].flatMap((template) =>
      policyDocuments(template).flatMap((document) =>
        document.Statement.filter((s) => list(s.Action).includes('iam:PassRole')),
      ),
    );
    expect(passRole.length).toBeGreaterThan(0);
    for (const statement of passRole) {
      expect(JSON.stringify(statement.Resource)).toMatch(/:role\/capideploy\/\*"\]\]\}$/);
    }
  });
});

describe('permissions boundary of the instance roles (no escalation)', () => {
  // Literal CloudFormation, written out by hand: not rendered with the functions the stacks use.
  const partition = { Ref: 'AWS::Partition' };
  const account = { Ref: 'AWS::AccountId' };
  const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
  const BOUNDARY_ARN = join(
    'arn:',
    partition,
    ':iam::',
    account,
    ':policy/capideploy/capideploy-instance-boundary',
  );
  const INSTANCE_ROLES = join('arn:', partition, ':iam::', account, ':role/capideploy/*');
  const SSM_CORE = join('arn:', partition, ':iam::aws:policy/AmazonSSMManagedInstanceCore');
  const BOUNDARY_DOCUMENT = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'SsmAgent',
        Effect: 'Allow',
        Action: [
          'ec2messages:AcknowledgeMessage',
          'ec2messages:DeleteMessage',
          'ec2messages:FailMessage',
          'ec2messages:GetEndpoint',
          'ec2messages:GetMessages',
          'ec2messages:SendReply',
          'ssm:DescribeAssociation',
          'ssm:DescribeDocument',
          'ssm:GetDeployablePatchSnapshotForInstance',
          'ssm:GetDocument',
          'ssm:GetManifest',
          'ssm:ListAssociations',
          'ssm:ListInstanceAssociations',
          'ssm:PutComplianceItems',
          'ssm:PutConfigurePackageResult',
          'ssm:PutInventory',
          'ssm:UpdateAssociationStatus',
          'ssm:UpdateInstanceAssociationStatus',
          'ssm:UpdateInstanceInformation',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        Resource: '*',
      },
      {
        Sid: 'ReadDeploymentSecrets',
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:GetParameters'],
        Resource: join('arn:', partition, ':ssm:*:', account, ':parameter/capideploy/*'),
      },
      {
        Sid: 'DecryptSecretsThroughSsm',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com' } },
      },
      {
        Sid: 'DeploymentBuckets',
        Effect: 'Allow',
        Action: [
          's3:DeleteObject',
          's3:GetEncryptionConfiguration',
          's3:GetObject',
          's3:ListBucket',
          's3:PutObject',
        ],
        Resource: join('arn:', partition, ':s3:::*'),
      },
      {
        Sid: 'DeploymentLogs',
        Effect: 'Allow',
        Action: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
        ],
        Resource: join('arn:', partition, ':logs:*:', account, ':log-group:/capideploy/*'),
      },
    ],
  };
  /** The IAM statements of the instance-role calls, as both the InstanceRole Lambda and the customer role get them. */
  const ESCALATION_GUARDS = [
    {
      Effect: 'Allow',
      Action: ['iam:CreateRole', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy'],
      Resource: INSTANCE_ROLES,
      Condition: { StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_ARN } },
    },
    {
      Effect: 'Allow',
      Action: 'iam:AttachRolePolicy',
      Resource: INSTANCE_ROLES,
      Condition: {
        ArnEquals: { 'iam:PolicyARN': SSM_CORE },
        StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_ARN },
      },
    },
    { Effect: 'Deny', Action: 'iam:DeleteRolePermissionsBoundary', Resource: '*' },
    {
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: INSTANCE_ROLES,
      Condition: { StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    },
  ];

  it.each([
    ['operator', () => op],
    ['customer', () => cu],
  ])('is deployed by the %s stack with a fixed name and path', (_, template) => {
    template().hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'capideploy-instance-boundary',
      Path: '/capideploy/',
      PolicyDocument: BOUNDARY_DOCUMENT,
    });
  });

  it.each([
    ['InstanceRole Lambda', () => statementsOf(op, logicalId(operator.roles.InstanceRole!))],
    ['customer role', () => statementsOf(cu, logicalId(customer.role))],
  ])(
    'binds the %s: create and change roles only with the boundary, never remove it, pass only to EC2',
    (_, of) => {
      const statements = of();
      for (const guard of ESCALATION_GUARDS) expect(statements).toContainEqual(guard);
    },
  );

  it('lets no policy of either stack create a role, or give one permissions, without the boundary condition', () => {
    const guarded = [
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'iam:AttachRolePolicy',
      'iam:PutRolePermissionsBoundary',
    ];
    const allows = [op, cu].flatMap((template) =>
      policyDocuments(template).flatMap((document) =>
        document.Statement.filter(
          (s) => s.Effect === 'Allow' && list(s.Action).some((action) => guarded.includes(action)),
        ),
      ),
    );
    expect(allows.length).toBe(4);
    for (const statement of allows) {
      expect(statement.Condition).toMatchObject({
        StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_ARN },
      });
    }
  });

  it('allows iam:PassRole only to EC2', () => {
    const passRole = [op, cu].flatMap((template) =>
      policyDocuments(template).flatMap((document) =>
        document.Statement.filter((s) => s.Effect === 'Allow' && list(s.Action).includes('iam:PassRole')),
      ),
    );
    expect(passRole.length).toBeGreaterThan(0);
    for (const statement of passRole) {
      expect(statement.Condition).toEqual({
        StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' },
      });
    }
  });
});

describe.each(MACHINE_NAMES)('state machine %s', (machine) => {
  const resource = () =>
    op.findResources('AWS::StepFunctions::StateMachine')[logicalId(operator.stateMachines[machine])];

  it('is a Standard machine loaded from its ASL file', () => {
    const { Properties } = resource();
    expect(Properties.StateMachineType).toBe('STANDARD');
    expect(Properties.StateMachineName).toBe(`CapiDeploy-${machine}`);
    const key: string = Properties.DefinitionS3Location.Key;
    expect(readFileSync(join(assemblyDir, `asset.${key}`), 'utf8')).toBe(
      readFileSync(machineFile(machine), 'utf8'),
    );
  });

  it('substitutes every placeholder with the ARN of the real function', () => {
    const substitutions = resource().Properties.DefinitionSubstitutions as Record<string, unknown>;
    const expected = Object.fromEntries(
      placeholders(machine).map((key) => {
        const fn = functionsOf(machine).find((name) => arnKey(name) === key);
        if (fn) return [key, operator.resolve(operator.functions[fn].functionArn)];
        return [key, operator.resolve(operator.stateMachines['delete-deployment'].stateMachineArn)];
      }),
    );
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    expect(substitutions).toEqual(expected);
  });

  it('may invoke exactly its functions, by unqualified ARN', () => {
    const statements = statementsOf(
      op,
      logicalId(operator.stateMachines[machine].role as unknown as IConstruct),
    );
    const invoke = statements.filter((statement) => list(statement.Action).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(list(invoke[0].Resource)).toEqual(
      functionsOf(machine).map((fn) => operator.resolve(operator.functions[fn].functionArn)),
    );
  });

  it('logs every event and traces with X-Ray', () => {
    const { Properties } = resource();
    expect(Properties.LoggingConfiguration.Level).toBe('ALL');
    expect(Properties.TracingConfiguration).toEqual({ Enabled: true });
  });
});

describe('deployments API', () => {
  it('authorizes every method with IAM', () => {
    const methods = Object.values(op.findResources('AWS::ApiGateway::Method'));
    // /deployments, /deployments/{name}, its day-2 stop, start and images, and the customers registry /customers,
    // /customers/{name}.
    expect(methods.map(({ Properties }) => Properties.HttpMethod).sort()).toEqual([
      'DELETE',
      'DELETE',
      'DELETE',
      'GET',
      'GET',
      'GET',
      'GET',
      'POST',
      'POST',
      'POST',
      'POST',
      'PUT',
    ]);
    for (const { Properties } of methods) expect(Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('validates the POST body against the model generated from the zod schema', () => {
    const [modelId, model] = Object.entries(op.findResources('AWS::ApiGateway::Model'))[0];
    expect(model.Properties.Name).toBe('DeploymentSpec');
    const schema = model.Properties.Schema;
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual([
      'name',
      'region',
      'availabilityZone',
      'flavor',
      'cassandraNodes',
      'daemons',
      'allowedCidrs',
    ]);
    expect(schema.properties.name).toMatchObject({ pattern: '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$' });
    const [validatorId] = Object.entries(op.findResources('AWS::ApiGateway::RequestValidator')).find(
      ([, v]) => v.Properties.ValidateRequestBody === true,
    )!;
    op.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestModels: { 'application/json': { Ref: modelId } },
      RequestValidatorId: { Ref: validatorId },
    });
  });

  it('throttles the stage and logs access', () => {
    op.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
        }),
      ]),
    });
  });

  it("leaves the region's API Gateway CloudWatch role alone unless apiCloudWatchRole is set", () => {
    op.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('answers gateway errors as JSON with a message', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX', 'BAD_REQUEST_BODY']) {
      op.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('^\\{"message": ') },
      });
    }
  });

  it('tells its function the two state machines', () => {
    op.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CREATE_STATE_MACHINE_ARN: { Ref: logicalId(operator.stateMachines['create-deployment']) },
          DELETE_STATE_MACHINE_ARN: { Ref: logicalId(operator.stateMachines['delete-deployment']) },
        }),
      },
    });
  });
});

describe('command output bucket and documents', () => {
  it('encrypts the bucket, blocks public access, requires TLS and expires objects', () => {
    op.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Status: 'Enabled', ExpirationInDays: 30 })],
      },
    });
    op.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it.each([
    ['operator', () => op],
    ['customer', () => cu],
  ])('creates every SSM document under its file name in the %s stack', (_, template) => {
    const documents = loadDocuments();
    template().resourceCountIs('AWS::SSM::Document', PROVISIONING_DOCUMENTS.length);
    for (const name of PROVISIONING_DOCUMENTS) {
      template().hasResourceProperties('AWS::SSM::Document', {
        Name: name,
        DocumentType: 'Command',
        DocumentFormat: 'JSON',
        Content: documents[name],
      });
    }
  });

  it('tags every resource that takes tags', () => {
    for (const template of [op, cu]) {
      const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: any }> };
      const taggable = Object.entries(json.Resources).filter(
        ([, r]) => r.Properties && 'Tags' in r.Properties,
      );
      expect(taggable.length).toBeGreaterThan(10);
      for (const [id, resource] of taggable) {
        const tags = resource.Properties.Tags;
        const project = Array.isArray(tags)
          ? tags.find((t: { Key: string }) => t.Key === 'Project')?.Value
          : tags.Project;
        expect(project, id).toBe('capillaries-deploy');
      }
    }
  });
});

describe('customer role stack (cross-account mode)', () => {
  it('is trusted only by the operator account workflow roles, with the external id', () => {
    cu.hasParameter('OperatorAccountId', { Type: 'String', AllowedPattern: '^\\d{12}$' });
    cu.hasParameter('ExternalId', { Type: 'String', NoEcho: true });
    const partition = { Ref: 'AWS::Partition' };
    cu.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'capideploy-operator',
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: {
              AWS: { 'Fn::Join': ['', ['arn:', partition, ':iam::', { Ref: 'OperatorAccountId' }, ':root']] },
            },
            Condition: {
              StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } },
              ArnLike: {
                'aws:PrincipalArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      partition,
                      ':iam::',
                      { Ref: 'OperatorAccountId' },
                      ':role/capideploy-workflow/*',
                    ],
                  ],
                },
              },
            },
          },
        ],
      },
    });
  });

  it('allows exactly the statements of the permission table on the customer account', () => {
    const expected = renderCustomerGrants({
      partition: Aws.PARTITION,
      account: Aws.ACCOUNT_ID,
      commandOutputBucketArn: `arn:${Aws.PARTITION}:s3:::*`,
    }).map((grant) =>
      normal({
        Action: grant.actions,
        Resource: customer.resolve(grant.resources),
        ...(grant.conditions ? { Condition: customer.resolve(grant.conditions) } : {}),
        Effect: grant.effect ?? 'Allow',
      }),
    );
    const actual = statementsOf(cu, logicalId(customer.role)).map(normal);
    expect(actual.sort()).toEqual(expected.sort());
  });

  it('outputs the role ARN for the customers registry', () => {
    cu.hasOutput('OperatorRoleArn', {
      Value: { 'Fn::GetAtt': [logicalId(customer.role), 'Arn'] },
      // The registry, not the spec, holds the pair (capi-deploy customers add).
      Description: Match.stringLikeRegexp('capi-deploy customers add'),
    });
    expect(JSON.stringify(cu.toJSON())).not.toContain('assumeRole');
  });
});
