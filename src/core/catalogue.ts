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
] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/** The substitution key of a function's ARN: `DeploymentPlan` -> `DeploymentPlanFunctionArn`. */
const arnKey = (fn: FunctionName) => `${fn}FunctionArn`;

/** `SsmReadiness` -> `ssm-readiness`: the function's folder under `functions/` and the suffix of its name. */
const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** The handler module of a function, relative to the project root. */
const handlerEntry = (fn: FunctionName) => `functions/${kebab(fn)}/handler.ts`;

/** The state machines, by the name of their ASL file in `statemachines/`. */
const MACHINE_NAMES = ['create-deployment', 'delete-deployment'] as const;
type MachineName = (typeof MACHINE_NAMES)[number];

/** `CapiDeploy-create-deployment` or `create-deployment` → `create-deployment`; other names unchanged. */
function machineBaseName(machine: string): string {
  const known = /(?:^|-)(create-deployment|delete-deployment)$/.exec(machine);
  return known ? known[1] : machine;
}

export type { FunctionName, MachineName };
export { arnKey, FUNCTIONS, handlerEntry, kebab, MACHINE_NAMES, machineBaseName };
