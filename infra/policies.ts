import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import {
  type Grant,
  INSTANCE_BOUNDARY_NAME,
  INSTANCE_ROLE_PATH,
  type RenderContext,
  renderInstanceBoundary,
} from '../src/core/permissions.js';
import { acknowledgeWildcards } from './nag.js';

/** The CDK statement of a rendered grant: an Allow, or an explicit Deny. */
const statementOf = (grant: Grant) =>
  new iam.PolicyStatement({
    ...(grant.effect === 'Deny' ? { effect: iam.Effect.DENY } : {}),
    actions: grant.actions,
    resources: grant.resources,
    ...(grant.conditions ? { conditions: grant.conditions } : {}),
  });

/** The wildcard acknowledgments of rendered grants, each with its written reason. */
const wildcardsOf = (grants: readonly Grant[]) =>
  grants.flatMap((grant) =>
    grant.resources.map((resource) => ({ resource, actions: grant.actions, why: grant.why })),
  );

/**
 * Adds the rendered rows of `src/core/permissions.ts` to a role (allows and explicit denies) and returns the wildcard
 * reasons for cdk-nag; both stacks render their roles through it.
 */
function addGrants(role: iam.Role, grants: readonly Grant[]) {
  for (const grant of grants) role.addToPrincipalPolicy(statementOf(grant));
  return wildcardsOf(grants);
}

/**
 * The permissions boundary of the instance roles (`src/core/permissions.ts`, INSTANCE_BOUNDARY): a customer managed
 * policy with a fixed name and path, so the InstanceRole handler derives its ARN from the account it creates the role
 * in. Deployed by the operator stack and by the customer role stack.
 */
function instanceBoundaryPolicy(scope: Construct, context: RenderContext): iam.ManagedPolicy {
  const statements = renderInstanceBoundary(context);
  const policy = new iam.ManagedPolicy(scope, 'InstanceRoleBoundary', {
    managedPolicyName: INSTANCE_BOUNDARY_NAME,
    path: INSTANCE_ROLE_PATH,
    description:
      'Permissions boundary of the capideploy instance roles: the most an instance can ever do (src/core/permissions.ts)',
    statements: statements.map(
      (statement) =>
        new iam.PolicyStatement({
          sid: statement.sid,
          actions: statement.actions,
          resources: statement.resources,
          ...(statement.conditions ? { conditions: statement.conditions } : {}),
        }),
    ),
  });
  acknowledgeWildcards(policy, wildcardsOf(statements));
  return policy;
}

export { addGrants, instanceBoundaryPolicy };
