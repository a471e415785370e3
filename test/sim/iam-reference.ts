// AGPL-3.0: a reference for tests only; src/ must never import it (nor @cloud-copilot/iam-policy).
import { runSimulation } from '@cloud-copilot/iam-simulate';
import {
  type AuthorizationRequest,
  authorize,
  type Decision,
  type PolicySet,
} from '../../src/sim/iam/evaluate.js';

/** iam-simulate as the reference of `src/sim/iam/evaluate.ts` (the differential tests). */

export interface Case {
  name: string;
  policies: PolicySet;
  request: AuthorizationRequest;
  expected?: Decision;
  /** A generated variation: skipped when iam-data knows no resource type for its ARN. */
  variation?: boolean;
}

export const ACCOUNT = '123456789012';

const DECISIONS = {
  Allowed: 'Allowed',
  ImplicitlyDenied: 'ImplicitDeny',
  ExplicitlyDenied: 'ExplicitDeny',
} as const;

/**
 * iam-simulate's decision. The principal is a role in the account of the resource (a same-account request: no
 * resource policy needed), except for KMS keys, whose default key policy (trusting the account) is supplied.
 * 'unsupported': iam-data knows no resource type of the action for this ARN.
 */
export async function reference({ name, policies, request }: Case): Promise<Decision | 'unsupported'> {
  const account = request.resource.split(':')[4] || ACCOUNT;
  const keyPolicy = {
    Version: '2012-10-17',
    Statement: {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  };
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${account}:role/capideploy-workflow/principal`,
        action: request.action,
        resource: { resource: request.resource, accountId: account },
        contextVariables: request.context,
      },
      identityPolicies: policies.identity.map((policy, i) => ({ name: `identity${i}`, policy })),
      permissionBoundaryPolicies: policies.boundary?.length
        ? policies.boundary.map((policy, i) => ({ name: `boundary${i}`, policy }))
        : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: /^arn:[^:]+:kms:[^:]*:[^:]*:key\//.test(request.resource) ? keyPolicy : undefined,
    },
    {},
  );
  if (result.resultType === 'error') {
    if (result.errors.message === 'no.resource.types') return 'unsupported';
    throw new Error(`${name}: iam-simulate refused the case: ${JSON.stringify(result.errors)}`);
  }
  if (result.resultType === 'single' && result.result.ignoredContextKeys?.length) {
    throw new Error(
      `${name}: iam-simulate ignores context keys ${result.result.ignoredContextKeys.join(', ')} for ${request.action}`,
    );
  }
  return DECISIONS[result.overallResult];
}

/** Our decision and iam-simulate's, for a case; a mismatch message or undefined. */
export async function compare(c: Case): Promise<string | undefined> {
  const ours = authorize(c.request, c.policies).decision;
  const theirs = await reference(c);
  if (c.expected && ours !== c.expected) return `${c.name}: expected ${c.expected}, evaluate.ts says ${ours}`;
  if (theirs === 'unsupported') {
    return c.expected || c.variation
      ? undefined
      : `${c.name}: iam-simulate cannot check ${c.request.resource}; give it an expected`;
  }
  return ours === theirs ? undefined : `${c.name}: evaluate.ts says ${ours}, iam-simulate says ${theirs}`;
}
