import { RULES, ruleRegExp } from './parameter-rules.js';
import { OPERATOR_ROLE_PREFIX } from './permissions.js';

/**
 * The customers registry of cross-account ("SaaS") mode: what the operator registers once per customer, and where.
 * A spec names a customer (`"customer": "acme"`); the workflow's Lambdas read the customer's role ARN and external
 * id themselves from the operator account, so the external id never travels in an execution's input, output or
 * history, and whoever may start executions cannot point the workflow at an account whose pair they merely know.
 *
 * One SecureString per customer, `/capideploy/customers/<name>`, in the operator account and in the region of the
 * CapiDeploy stack; its value is the JSON `{"roleArn": "...", "externalId": "..."}`. The registry's reads and writes
 * are in src/core/customer-registry.ts (CLI and API) and functions/shared/customers.ts (the Lambdas' read).
 */

/** The path of every registry entry (with a trailing slash, as GetParametersByPath takes it). */
export const CUSTOMERS_PATH = '/capideploy/customers/';

/**
 * A customer name follows the deployment name's rule (1 to 24 lowercase letters, digits and hyphens, starting and
 * ending with a letter or digit): it is a path segment of the parameter and appears in commands and specs.
 */
export const CUSTOMER_NAME_RULE = {
  pattern: RULES.deploymentName.pattern,
  description: RULES.deploymentName.description,
  example: 'acme',
} as const;
const CUSTOMER_NAME = ruleRegExp(CUSTOMER_NAME_RULE);

export const isCustomerName = (name: string): boolean => CUSTOMER_NAME.test(name);

/** The registry entry of a customer: `/capideploy/customers/<name>`. */
export function customerParameterName(name: string): string {
  if (!isCustomerName(name)) throw new Error(`not a customer name: ${JSON.stringify(name)}`);
  return `${CUSTOMERS_PATH}${name}`;
}

/** The customer name of a registry entry's parameter name, or null for anything else under the path. */
export function customerOfParameter(parameterName: string): string | null {
  if (!parameterName.startsWith(CUSTOMERS_PATH)) return null;
  const name = parameterName.slice(CUSTOMERS_PATH.length);
  return isCustomerName(name) ? name : null;
}

/** An IAM role ARN (any partition), as the spec accepted it before the registry. */
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** STS AssumeRole's ExternalId: 2 to 1,224 characters of `[\w+=,.@:/-]` (the STS API reference). */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** The account id of a role ARN. */
export const accountOfRoleArn = (roleArn: string): string => roleArn.split(':')[4];

/** What the registry holds for one customer: the role the workflow assumes, and the agreed external id. */
export interface CustomerPair {
  roleArn: string;
  externalId: string;
}

/** A customer as the registry lists it: never with its external id. */
export interface CustomerEntry {
  name: string;
  roleArn: string;
}

/** What is wrong with a role ARN given for a customer, or null. */
export function roleArnProblem(roleArn: string): string | null {
  if (!ROLE_ARN.test(roleArn)) {
    return 'must be an IAM role ARN such as arn:aws:iam::210987654321:role/capideploy-operator';
  }
  // The workflow's Lambdas may assume only these (src/core/permissions.ts, sts:AssumeRole): any other never works.
  const name = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  return name.startsWith(OPERATOR_ROLE_PREFIX)
    ? null
    : `must name a role called ${OPERATOR_ROLE_PREFIX}* (the CapiDeployCustomerRole stack's): the workflow may assume no other`;
}

/** What is wrong with an external id, or null. The message never repeats the value. */
export function externalIdProblem(externalId: string): string | null {
  if (externalId.length === 0) return 'is empty';
  return EXTERNAL_ID.test(externalId)
    ? null
    : 'must be 2 to 1224 characters of letters, digits and + = , . @ : / - _ (the STS external id rule)';
}

/** What is wrong with a customer name, or null. */
export function customerNameProblem(name: string): string | null {
  return isCustomerName(name) ? null : `must be ${CUSTOMER_NAME_RULE.description}`;
}

/** The stored value of a registry entry (the SecureString's plaintext). */
export function customerValue(pair: CustomerPair): string {
  return JSON.stringify({ roleArn: pair.roleArn, externalId: pair.externalId });
}

/**
 * Parses a registry entry's value; null when it is not one (hand-edited, truncated). Never throws with the value in
 * a message: it holds the external id.
 */
export function parseCustomerValue(value: string | undefined): CustomerPair | null {
  if (typeof value !== 'string') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  const { roleArn, externalId } = (parsed ?? {}) as Partial<Record<keyof CustomerPair, unknown>>;
  if (typeof roleArn !== 'string' || typeof externalId !== 'string') return null;
  if (roleArnProblem(roleArn) || externalIdProblem(externalId)) return null;
  return { roleArn, externalId };
}

/** How to register a customer, for messages. */
export const REGISTER_COMMAND =
  'capi-deploy customers add <name> --role-arn <arn> (external id on standard input)';

/** The refusal of a spec that still carries `assumeRole` (the pair in clear). */
export const INLINE_EXTERNAL_ID_MESSAGE = `inline external ids are not accepted: register the customer with "${REGISTER_COMMAND.replace(' (external id on standard input)', '')}" (external id on standard input) and put "customer": "<name>" in the spec`;
