import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CapiDeployStack, type CapiDeployStackProps } from './capi-deploy-stack.js';
import { CustomerRoleStack } from './customer-role-stack.js';

/** Options of {@link buildApp}. */
interface BuildOptions {
  /** See {@link CapiDeployStackProps.functionFactory}. @default bundledFunction: esbuild bundles */
  readonly functionFactory?: CapiDeployStackProps['functionFactory'];
}

/**
 * The two stacks of the app, checked by cdk-nag (AwsSolutions) at synth: any finding without a written
 * acknowledgment fails the synth.
 *
 * - `CapiDeploy`: the workflow, in the operator's account (the only stack of single-account mode).
 * - `CapiDeployCustomerRole`: cross-account mode, deployed by each customer in their account.
 *
 * Context (`-c key=value` or cdk.json): `customerAccounts`, comma-separated account ids whose instances may write
 * command output into the operator's bucket; `apiCloudWatchRole` (default false), true to let the stack create
 * API Gateway's CloudWatch role and set it in the account settings of the region (read by `DeploymentsApi`;
 * infra/README.md says what the account needs without it).
 */
function buildApp(app: App, options: BuildOptions = {}) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const customerAccounts = String(app.node.tryGetContext('customerAccounts') ?? '')
    .split(',')
    .map((account) => account.trim())
    .filter(Boolean);
  const operator = new CapiDeployStack(app, 'CapiDeploy', {
    description: 'capillaries-deploy: Step Functions workflow, Lambdas, SSM documents and deployments API',
    customerAccountIds: customerAccounts,
    functionFactory: options.functionFactory,
  });
  const customer = new CustomerRoleStack(app, 'CapiDeployCustomerRole', {
    description:
      'capillaries-deploy cross-account mode: the role the operator workflow assumes, and the SSM documents',
  });
  return { operator, customer };
}

export type { BuildOptions };
export { buildApp };
