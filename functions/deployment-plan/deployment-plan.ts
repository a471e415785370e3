import { InvalidSpec } from '../../src/core/errors.js';
import { planDeployment } from '../../src/core/spec/plan.js';
import { checkSpec, type DeploymentSpec } from '../../src/core/spec/schema.js';

/** What the first step of the workflow shows about the deployment it is about to build. */
export interface PlanSummary {
  spec: DeploymentSpec;
  summary: {
    deployment: string;
    region: string;
    availabilityZone: string;
    nodes: number;
    cassandraNodes: number;
    daemons: number;
    privateSubnetCidr: string;
    instanceTypes: Record<string, string>;
  };
}

/**
 * Validates the raw spec (one message per bad field, before any AWS call) and returns it normalized with its
 * defaults, which is what every later step receives.
 */
export function validateDeployment(raw: unknown): PlanSummary {
  const checked = checkSpec(raw);
  if (!checked.spec) {
    throw new InvalidSpec({
      resource: 'deployment spec',
      message: checked.problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '),
      hint: 'Fix the listed fields and start again; `capi-deploy validate <spec>` checks a spec offline.',
      details: { problems: checked.problems },
    });
  }
  const plan = planDeployment(checked.spec);
  return {
    spec: checked.spec,
    summary: {
      deployment: plan.deployment,
      region: plan.region,
      availabilityZone: plan.availabilityZone,
      nodes: plan.nodes.length,
      cassandraNodes: checked.spec.cassandraNodes,
      daemons: checked.spec.daemons,
      privateSubnetCidr: plan.network.privateSubnetCidr,
      instanceTypes: Object.fromEntries(plan.nodes.map((node) => [node.role, node.instanceType])),
    },
  };
}
