import { type Plan, planDeployment } from '../../src/core/spec/plan.js';
import { type DeploymentSpec, DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import { type AwsClients, clientsFor } from './clients.js';
import { resolveCustomer } from './customers.js';

/** Every handler input carries the (already validated) spec; handlers re-derive the plan from it. */
export const specField = DeploymentSpecSchema;

/** What a handler's logic works with: the plan and the clients of the deployment's account. */
export interface DeploymentContext {
  plan: Plan;
  clients: AwsClients;
}

export async function deploymentContext(spec: DeploymentSpec): Promise<DeploymentContext> {
  // SaaS mode: the customer's role and external id come from the registry, never from the spec (execution input).
  const assumeRole = spec.customer ? await resolveCustomer(spec.customer) : undefined;
  return { plan: planDeployment(spec), clients: await clientsFor(spec.region, assumeRole) };
}
