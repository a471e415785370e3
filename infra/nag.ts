import { Stack, Validations } from 'aws-cdk-lib';
// cdk-nag names a wildcard finding after the resource flattened by this function; using it keeps ids identical.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/** A wildcard resource granted on purpose, and why. */
interface WildcardReason {
  /** The resource as written in the statement (tokens allowed). */
  readonly resource: string;
  /** The actions granted on it, named in the reason. */
  readonly actions: readonly string[];
  readonly why: string;
}

/**
 * Acknowledges the cdk-nag `AwsSolutions-IAM5` finding of each wildcard resource of a role or policy, one finding
 * at a time, with a reason that names the actions and why their resources cannot be listed. Reasons of the same
 * finding are joined, so a reader sees every statement behind it.
 */
function acknowledgeWildcards(scope: IConstruct, wildcards: readonly WildcardReason[]): void {
  const reasons = new Map<string, string[]>();
  for (const { resource, actions, why } of wildcards) {
    const flat = flattenCfnReference(Stack.of(scope).resolve(resource));
    if (!flat.includes('*')) continue;
    const id = `AwsSolutions-IAM5[Resource::${flat}]`;
    reasons.set(id, [...(reasons.get(id) ?? []), `${actions.join(', ')}: ${why}`]);
  }
  for (const [id, list] of reasons) Validations.of(scope).acknowledge({ id, reason: list.join('; ') });
}

export type { WildcardReason };
export { acknowledgeWildcards };
