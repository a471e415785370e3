import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { InventoryItem } from '../core/inventory.js';
import { type RetryOptions, retryThrottled } from '../core/retry.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import type { AwsDeps } from './aws-commands.js';

/**
 * The only place AWS mode makes clients: Step Functions and CloudFormation in `--region` (else the SDK's default
 * region chain: AWS_REGION, the profile), with the SDK's default credential chain (environment, SSO/profile,
 * instance or container role). The inventory of a deployment runs in the deployment's own region and account
 * (its spec's `region`, and in SaaS mode the role of its `customer` read from the registry in the stack's region),
 * through the handlers' client factory, as the inventory Lambda does.
 */
export function awsClients(options: { region?: string }): AwsDeps {
  const config = options.region ? { region: options.region } : {};
  return {
    sfn: new SFNClient(config),
    cloudformation: new CloudFormationClient(config),
    // The customers registry (SaaS mode) is in the stack's region.
    inventory: (spec: DeploymentSpec) => awsInventory(spec, undefined, options.region),
  };
}

/**
 * What a deployment owns in its account now: Resource Groups Tagging API plus one describe per type. Throttling
 * and server errors are retried as the state machines retry them (src/core/retry.ts), so a busy account slows
 * the command down instead of failing it. `retry` overrides the policy (tests pass a sleep that does not wait).
 */
export async function awsInventory(
  spec: DeploymentSpec,
  retry?: RetryOptions,
  stackRegion?: string,
): Promise<InventoryItem[]> {
  const [{ deploymentContext }, { listResources }, { configureCustomerRegistry }] = await Promise.all([
    import('../../functions/shared/context.js'),
    import('../../functions/inventory/inventory.js'),
    import('../../functions/shared/customers.js'),
  ]);
  // Without --region, the SDK's default region (AWS_REGION) is the stack's, as for the Step Functions client.
  const region = stackRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region) configureCustomerRegistry({ region });
  const context = await retryThrottled(() => deploymentContext(spec), retry);
  return retryThrottled(() => listResources(context), retry);
}
