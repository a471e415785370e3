/**
 * What the workflow is made of: its Lambda functions and its state machines. The ASL refers to a function as the
 * `${<Name>FunctionArn}` substitution; CDK, the local engine and the permission table all key on these names.
 */

/** Lambda functions of the workflow, one per resource type. */
const FUNCTIONS = [
  'DeploymentPlan',
  'Preflight',
  'ElasticIps',
  'Vpc',
  'Subnets',
  'InternetGateway',
  'RouteTables',
  'NatGateway',
  'SecurityGroups',
  'InstanceRole',
  'Instances',
  'BastionAddress',
  'Volumes',
  'SsmReadiness',
  'Secrets',
  'Provisioning',
  'HealthCheck',
  'Inventory',
  'FleetPower',
  'Images',
] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/**
 * How long one invocation of each function may run, in seconds: the Lambda timeout CDK deploys, and the one the
 * local engine enforces in virtual time (an overrun fails the step with `Sandbox.Timedout`, as on Lambda).
 * Provisioning sends up to 50 nodes' commands per call for every role of a large fleet; the others make a bounded
 * number of calls per invocation. Raise one only with a measurement: a step that overruns should do less per call.
 */
const FUNCTION_TIMEOUT_SECONDS: Readonly<Record<FunctionName, number>> = {
  DeploymentPlan: 60,
  Preflight: 60,
  ElasticIps: 60,
  Vpc: 60,
  Subnets: 60,
  InternetGateway: 60,
  RouteTables: 60,
  NatGateway: 60,
  SecurityGroups: 60,
  InstanceRole: 60,
  Instances: 60,
  BastionAddress: 60,
  Volumes: 60,
  SsmReadiness: 60,
  Secrets: 60,
  Provisioning: 120,
  HealthCheck: 60,
  Inventory: 60,
  FleetPower: 60,
  Images: 60,
};

/** The substitution key of a function's ARN: `DeploymentPlan` -> `DeploymentPlanFunctionArn`. */
const arnKey = (fn: FunctionName) => `${fn}FunctionArn`;

/** `SsmReadiness` -> `ssm-readiness`: the function's folder under `functions/` and the suffix of its name. */
const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** The handler module of a function, relative to the project root. */
const handlerEntry = (fn: FunctionName) => `functions/${kebab(fn)}/handler.ts`;

/** The state machines, by the name of their ASL file in `statemachines/`. */
const MACHINE_NAMES = [
  'create-deployment',
  'delete-deployment',
  'stop-deployment',
  'start-deployment',
  'images-create',
  'images-delete',
] as const;
type MachineName = (typeof MACHINE_NAMES)[number];

/** `CapiDeploy-create-deployment` or `create-deployment` → `create-deployment`; other names unchanged. */
function machineBaseName(machine: string): string {
  const known =
    /(?:^|-)(create-deployment|delete-deployment|stop-deployment|start-deployment|images-create|images-delete)$/.exec(
      machine,
    );
  return known ? known[1] : machine;
}

/** The operation a machine runs, as the CLI names it and local execution names start: `stop-deployment` → `stop`. */
const operationOf = (machine: string) => machineBaseName(machine).replace(/-deployment$/, '');

export type { FunctionName, MachineName };
export {
  arnKey,
  FUNCTION_TIMEOUT_SECONDS,
  FUNCTIONS,
  handlerEntry,
  kebab,
  MACHINE_NAMES,
  machineBaseName,
  operationOf,
};
