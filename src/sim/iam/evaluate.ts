import { type Context, conditionsHold, globMatches, patternOf, type Variables } from './conditions.js';

/**
 * A focused IAM policy evaluator for the local simulator: identity-based policies and a permissions boundary, in
 * one account, the features `src/core/permissions.ts` renders (Action / NotAction and Resource / NotResource with
 * wildcards, the condition operators of `./conditions.ts`, explicit Deny). No resource policies, SCPs, RCPs or
 * session policies. `test/sim/iam-differential.test.ts` checks it against @cloud-copilot/iam-simulate.
 *
 * Pages cited are in the IAM User Guide (https://docs.aws.amazon.com/IAM/latest/UserGuide/<page>.html).
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  /** Values: string | string[] | boolean | number (and arrays of them). */
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** Condition context: key (case-insensitive, e.g. 'aws:RequestTag/DeploymentOperator') -> one value or a multi-valued set. */
export type ContextValue = string | string[];

export interface AuthorizationRequest {
  /** `service:Action`, matched case-insensitively. */
  action: string;
  /** One ARN, or `*` for an action that supports no resource-level permissions. */
  resource: string;
  context: Record<string, ContextValue>;
}

export interface PolicySet {
  /** The principal's identity-based policies (inline + managed). */
  identity: PolicyDocument[];
  /** The permissions boundary, if the principal has one (absent or empty = no boundary). */
  boundary?: PolicyDocument[];
}

export type Decision = 'Allowed' | 'ImplicitDeny' | 'ExplicitDeny';

export interface Evaluation {
  decision: Decision;
  /**
   * For a denial: which policy type denied: 'explicit' (a Deny statement matched, in identity or boundary),
   * 'identity' (no identity Allow), 'boundary' (the boundary does not allow).
   */
  deniedBy?: 'explicit' | 'identity' | 'boundary';
  /** The Deny statement that matched, for an explicit deny. */
  statement?: PolicyStatement;
}

/**
 * Authorizes one request (reference_policies_evaluation-logic, "Evaluating identity-based policies with permissions
 * boundaries"): an explicit Deny in any policy wins; otherwise the request is allowed only if an identity-based
 * policy allows it and, when the principal has a permissions boundary, the boundary allows it too (effective
 * permissions are the intersection, access_policies_boundaries).
 *
 * Throws on a statement AWS would refuse to store (no Action/NotAction, both, no Resource/NotResource, a bad Effect).
 */
export function authorize(request: AuthorizationRequest, policies: PolicySet): Evaluation {
  const context: Context = new Map(
    Object.entries(request.context).map(([key, value]) => [key.toLowerCase(), value]),
  );
  const identity = statementsOf(policies.identity);
  const boundary = policies.boundary?.length ? statementsOf(policies.boundary) : undefined;
  const applies = ({ statement, variables }: Scoped) =>
    statementMatches(statement, request, context, variables);

  const deny = [...identity, ...(boundary ?? [])].find((s) => s.statement.Effect === 'Deny' && applies(s));
  if (deny) return { decision: 'ExplicitDeny', deniedBy: 'explicit', statement: deny.statement };
  if (!identity.some((s) => s.statement.Effect === 'Allow' && applies(s))) {
    return { decision: 'ImplicitDeny', deniedBy: 'identity' };
  }
  if (boundary && !boundary.some((s) => s.statement.Effect === 'Allow' && applies(s))) {
    return { decision: 'ImplicitDeny', deniedBy: 'boundary' };
  }
  return { decision: 'Allowed' };
}

/** A statement with the variables its policy may use. */
interface Scoped {
  statement: PolicyStatement;
  variables: boolean;
}

/**
 * Policy variables are recognised only in policies of Version 2012-10-17; in a policy without it `${...}` is literal
 * text (reference_policies_variables, "Where you can use policy variables"; reference_policies_elements_version).
 */
function statementsOf(documents: PolicyDocument[]): Scoped[] {
  return documents.flatMap(scopedStatements);
}

/**
 * A document's statements, validated, by document: a role's policies are the same objects call after call
 * (authorizer.ts renders and parses each once). Keyed also by its Version and Statement as they were, so a document
 * changed in place since is read again.
 */
const scopedByDocument = new WeakMap<
  PolicyDocument,
  { version: unknown; statement: unknown; scoped: Scoped[] }
>();

function scopedStatements(document: PolicyDocument): Scoped[] {
  const known = scopedByDocument.get(document);
  if (known && known.version === document.Version && known.statement === document.Statement) {
    return known.scoped;
  }
  const variables = document.Version === '2012-10-17';
  const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  const scoped = statements.map((statement) => {
    validate(statement);
    return { statement, variables };
  });
  scopedByDocument.set(document, { version: document.Version, statement: document.Statement, scoped });
  return scoped;
}

function validate(statement: PolicyStatement): void {
  const where = `IAM policy statement ${statement.Sid ?? JSON.stringify(statement)}`;
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
    throw new Error(`${where}: Effect must be Allow or Deny`);
  }
  if ((statement.Action === undefined) === (statement.NotAction === undefined)) {
    throw new Error(`${where}: exactly one of Action and NotAction is required`);
  }
  if ((statement.Resource === undefined) === (statement.NotResource === undefined)) {
    throw new Error(`${where}: exactly one of Resource and NotResource is required (identity-based policy)`);
  }
}

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

function statementMatches(
  statement: PolicyStatement,
  request: AuthorizationRequest,
  context: Context,
  withVariables: boolean,
): boolean {
  const variables = withVariables ? context : undefined;
  // reference_policies_elements_notaction: NotAction matches every action except those listed.
  const action =
    statement.Action !== undefined
      ? list(statement.Action).some((pattern) => actionMatches(pattern, request.action))
      : !list(statement.NotAction!).some((pattern) => actionMatches(pattern, request.action));
  if (!action) return false;
  // reference_policies_elements_notresource: NotResource matches every resource except those listed.
  const resource =
    statement.Resource !== undefined
      ? list(statement.Resource).some((pattern) => resourceMatches(pattern, request.resource, variables))
      : !list(statement.NotResource!).some((pattern) =>
          resourceMatches(pattern, request.resource, variables),
        );
  if (!resource) return false;
  return conditionsHold(statement.Condition, context, variables);
}

/**
 * reference_policies_elements_action: `*` alone is every action; otherwise `service:action`, where the service
 * prefix is compared exactly and the action name may hold `*` and `?` wildcards ("iam:*AccessKey*"). Both are
 * case-insensitive ("Action": "ec2:StartInstances" = "ec2:startinstances"). No variables in actions.
 */
export function actionMatches(pattern: string, action: string): boolean {
  if (pattern === '*') return true;
  const [patternService, patternName] = splitAction(pattern);
  const [service, name] = splitAction(action);
  if (patternName === undefined || name === undefined || /\s/.test(patternName) || patternName === '')
    return false;
  if (patternService.toLowerCase() !== service.toLowerCase()) return false;
  return patternOf(patternName, { wildcards: true, ignoreCase: true }, undefined)?.test(name) ?? false;
}

const splitAction = (action: string): [string, string | undefined] => {
  const colon = action.indexOf(':');
  return colon === -1 ? [action, undefined] : [action.slice(0, colon), action.slice(colon + 1)];
};

/**
 * reference_policies_elements_resource, "Using wildcards in resource ARNs", as @cloud-copilot/iam-simulate applies it
 * to identity-based policies:
 * - `*` alone matches any resource; a request on `*` (an action with no resource-level permissions, Service
 *   Authorization Reference) matches only `*`;
 * - a policy ARN with fewer than six colon-separated segments is completed with `*` segments;
 * - partition, service, region and account are matched one segment at a time (a wildcard there never crosses a
 *   colon), case-insensitively as iam-simulate does (they are lower-case in every AWS ARN);
 * - the resource part (everything after the fifth colon) is case-sensitive ("the IAM user name is case sensitive");
 *   its resource type, up to the first `/` or `:`, is literal (the page's "Incorrect wildcard usage"), and a
 *   wildcard in the rest spans `/` and `:`. An S3 ARN with no region and account has no resource type: the bucket
 *   name may hold wildcards. Policy variables are substituted in the resource part.
 */
export function resourceMatches(pattern: string, resource: string, variables: Variables): boolean {
  if (pattern === '*') return true;
  if (resource === '*' || !pattern.startsWith('arn:')) return false;
  const policyParts = pattern.split(':');
  while (policyParts.length < 6) policyParts.push('*');
  const policy = [...policyParts.slice(0, 5), policyParts.slice(5).join(':')];
  const requestParts = resource.split(':');
  if (requestParts.length < 6) return false;
  const request = [...requestParts.slice(0, 5), requestParts.slice(5).join(':')];
  for (let i = 1; i < 5; i++) {
    if (!globMatches(policy[i], request[i], undefined, true)) return false;
  }
  const isS3 = policy[2] === 's3' && policy[3] === '' && policy[4] === '';
  const separator = isS3 ? -1 : policy[5].search(/[/:]/);
  const type = policy[5].slice(0, separator + 1);
  if (!request[5].startsWith(type)) return false;
  return globMatches(policy[5].slice(type.length), request[5].slice(type.length), variables);
}
