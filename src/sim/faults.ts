import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { customerParameterName } from '../core/customers.js';
import { planDeployment } from '../core/spec/plan.js';
import type { DeploymentSpec } from '../core/spec/schema.js';

/**
 * Fault rules for the simulated account, from a JSON file passed as `--faults <file>`.
 * A rule matches a service operation (or `*`), optionally one target (a Name tag or a node nickname).
 * With `error` it fails the call with that AWS error code; with `delaySeconds` or `finalState` it changes how an
 * asynchronous resource settles; with the SSM fields it changes how a command ends on a node; with
 * `latencySeconds` the call itself takes that long to answer (a slow API, to reproduce a Lambda timeout).
 */
export const FaultRuleSchema = z.strictObject({
  service: z.enum(['EC2', 'IAM', 'STS', 'SSM']),
  operation: z
    .string()
    .min(1)
    .describe('API operation name such as CreateNatGateway, or * for every operation'),
  target: z.string().min(1).optional().describe('Name tag or node nickname (cass002) the rule applies to'),
  error: z.string().min(1).optional().describe('AWS error code to fail the call with'),
  times: z.number().int().min(-1).default(1).describe('how many times the rule fires; -1 = always'),
  probability: z.number().min(0).max(1).optional().describe('chance that a matching call is affected'),
  delaySeconds: z
    .number()
    .min(0)
    .optional()
    .describe('extra virtual seconds before an async resource is ready'),
  finalState: z.literal('failed').optional().describe('the async resource ends failed instead of ready'),
  latencySeconds: z
    .number()
    .gt(0)
    .max(900)
    .optional()
    .describe('the matching call takes this many virtual seconds to answer (instead of the latency model)'),
  document: z.string().min(1).optional().describe('SSM: only commands of this document'),
  exitCode: z.number().int().optional().describe('SSM: exit code the command ends with on the target'),
  stderr: z.string().optional().describe('SSM: standard error the command writes on the target'),
  status: z
    .enum(['Failed', 'TimedOut', 'Cancelled', 'InProgress'])
    .optional()
    .describe(
      'SSM: final status of the invocation; InProgress: it never finishes (a hung agent: no terminal status, even past its timeouts)',
    ),
});

export type FaultRule = z.output<typeof FaultRuleSchema>;
export const FaultRulesSchema = z.array(FaultRuleSchema);

/** Loads and validates a rules file, with one message per problem. */
export function loadFaultRules(file: string): FaultRule[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`faults file ${file}: ${(error as Error).message}`);
  }
  const parsed = FaultRulesSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
      return `  [${issue.path.join('.')}] ${issue.message}${keys}`;
    });
    throw new Error(`faults file ${file} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/**
 * Where the simulator applies rules without `error` ("effect" rules): the operations that consume one (each calls
 * `ctx.effect`: ec2/gateways.ts, ec2/instances.ts, iam.ts, ssm/run-command.ts) and the fields each one reads.
 */
const EFFECT_SITES: Record<string, Record<string, readonly EffectField[]>> = {
  EC2: {
    CreateNatGateway: ['delaySeconds', 'finalState'],
    RunInstances: ['delaySeconds', 'finalState'],
    // An instance that takes longer in stopping, or in pending after a start (stop-deployment, start-deployment).
    StopInstances: ['delaySeconds'],
    StartInstances: ['delaySeconds'],
    // An image that takes longer in pending, or ends failed (images create).
    CreateImage: ['delaySeconds', 'finalState'],
  },
  IAM: { AddRoleToInstanceProfile: ['delaySeconds'] },
  SSM: { SendCommand: ['delaySeconds', 'finalState', 'exitCode', 'stderr', 'status'] },
};
const EFFECT_FIELDS = ['delaySeconds', 'finalState', 'exitCode', 'stderr', 'status'] as const;
type EffectField = (typeof EFFECT_FIELDS)[number];
/** The fields that shape how an SSM command ends on a node: only SendCommand runs one. */
const COMMAND_FIELDS = ['document', 'exitCode', 'stderr', 'status'] as const;

/** The operations that consume effect rules, as a test reads them from the services' `ctx.effect` calls. */
export const EFFECT_OPERATIONS = Object.entries(EFFECT_SITES).flatMap(([service, sites]) =>
  Object.keys(sites).map((operation) => `${service} ${operation}`),
);

/**
 * Calls the simulated account makes on its own, not through a client, that error rules match too: the SSM agent's
 * registration (ssm/agents.ts), which keeps a node's agent offline.
 */
export const INTERNAL_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  SSM: ['UpdateInstanceInformation'],
};

/** What a deployment's calls can touch, for checking rule targets: see {@link faultTargets}. */
export interface FaultTargets {
  deployment: string;
  /** Node nicknames: bastion, rabbitmq, prometheus, cass001, daemon001. */
  nicknames: string[];
  /** Name tags and names of everything the deployment has; a name ending in `/` is a path (SSM parameters). */
  names: string[];
}

/** What rules are checked against. */
export interface FaultRuleContext {
  /** The simulated services' operation names, by service (`Object.keys(simulator.operations)`). */
  operations: Record<string, readonly string[]>;
  /** The run's deployment; without it, targets are not checked. */
  targets?: FaultTargets;
  /** The SSM documents a command can run; without them, `document` is not checked. */
  documents?: readonly string[];
}

/** One way a rule can never match or has no effect; `field` is the rule field at fault. */
export interface FaultRuleProblem {
  rule: number;
  field: string;
  message: string;
}

/** The names a deployment's calls can touch: its nodes, network, role and profile, secrets and the public AMI path. */
export function faultTargets(spec: DeploymentSpec): FaultTargets {
  const plan = planDeployment(spec);
  return {
    deployment: plan.deployment,
    nicknames: plan.nodes.map((node) => node.nickname),
    names: [
      ...plan.nodes.map((node) => node.name),
      ...Object.values(plan.names),
      ...plan.securityGroups.map((group) => group.name),
      // SaaS mode: the customers registry entry the handlers read (SSM GetParameter).
      ...(spec.customer ? [customerParameterName(spec.customer)] : []),
      // The Ubuntu AMI is a public SSM parameter under this path (preflight).
      '/aws/service/',
    ],
  };
}

/** True when a target can match one of the names at run time (as {@link targetMatches} does), or lies under a path. */
function targetKnown(target: string, names: string[]): boolean {
  return targetMatches(target, names) || names.some((name) => name.endsWith('/') && target.startsWith(name));
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** `; did you mean X?` for the closest candidate within a few edits (case aside), else nothing. */
function didYouMean(word: string, candidates: readonly string[]): string {
  let best: { candidate: string; edits: number } | undefined;
  for (const candidate of candidates) {
    const edits = distance(word.toLowerCase(), candidate.toLowerCase());
    if (!best || edits < best.edits) best = { candidate, edits };
  }
  const limit = Math.max(2, Math.floor(word.length / 4));
  return best && best.edits <= limit ? `; did you mean ${best.candidate}?` : '';
}

/** `bastion, rabbitmq, prometheus, cass001..cass004, daemon001..daemon004`: numbered nodes as ranges. */
function nodeList(nicknames: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < nicknames.length; ) {
    const prefix = /^(\D+)\d+$/.exec(nicknames[i])?.[1];
    let j = i + 1;
    while (prefix && j < nicknames.length && /^(\D+)\d+$/.exec(nicknames[j])?.[1] === prefix) j++;
    parts.push(j - i > 2 ? `${nicknames[i]}..${nicknames[j - 1]}` : nicknames.slice(i, j).join(', '));
    i = j;
  }
  return parts.join(', ');
}

/** `EC2 CreateNatGateway, EC2 RunInstances`: the operations whose effect reads `field`. */
function readersOf(field: EffectField): string {
  return Object.entries(EFFECT_SITES)
    .flatMap(([service, sites]) =>
      Object.entries(sites).flatMap(([operation, fields]) =>
        fields.includes(field) ? [`${service} ${operation}`] : [],
      ),
    )
    .join(', ');
}

/**
 * The rules that can never match, or carry a field that has no effect where they match: an operation the service
 * does not have, a target no resource of the deployment can have, a document that does not exist, `times` or
 * `probability` 0, SSM command fields outside SSM SendCommand, effect fields on a rule that fails the call, or on
 * an operation that does not consume them. One problem per rule and field.
 */
export function checkFaultRules(rules: FaultRule[], context: FaultRuleContext): FaultRuleProblem[] {
  return rules.flatMap((rule, index) => {
    const problems = new Map<string, string>();
    const report = (field: string, message: string) => {
      if (!problems.has(field)) problems.set(field, message);
    };
    matchProblems(rule, context, report);
    fieldProblems(rule, context, report);
    return [...problems].map(([field, message]) => ({ rule: index, field, message }));
  });
}

type Report = (field: string, message: string) => void;

/** The operations a rule of `service` may name: the service's own, and the account's internal calls. */
const operationsOf = (service: string, context: FaultRuleContext): readonly string[] => [
  ...(context.operations[service] ?? []),
  ...(INTERNAL_OPERATIONS[service] ?? []),
];

const knownOperation = (rule: FaultRule, context: FaultRuleContext) =>
  rule.operation === '*' || operationsOf(rule.service, context).includes(rule.operation);

/** What keeps a rule from ever matching a call: operation, times, probability, target, document. */
function matchProblems(rule: FaultRule, context: FaultRuleContext, report: Report): void {
  if (!knownOperation(rule, context)) {
    const operations = operationsOf(rule.service, context);
    const owner = Object.entries(context.operations).find(([, names]) => names.includes(rule.operation))?.[0];
    const hint = owner ? `; it is an operation of ${owner}` : didYouMean(rule.operation, operations);
    report('operation', `${rule.service} has no operation ${rule.operation}${hint}`);
  }
  if (rule.times === 0) report('times', '0 never fires (1 or more, or -1 for always)');
  if (rule.probability === 0) report('probability', '0 never fires');
  const { targets, documents } = context;
  if (rule.target !== undefined && targets && !targetKnown(rule.target, targets.names)) {
    const hint = didYouMean(rule.target, targets.nicknames);
    report(
      'target',
      `${rule.target} names no node or resource of deployment ${targets.deployment}${hint} (nodes: ${nodeList(targets.nicknames)})`,
    );
  }
  if (rule.document !== undefined && documents && !documents.includes(rule.document)) {
    report(
      'document',
      `${rule.document} is no SSM document of the deployment${didYouMean(rule.document, documents)}`,
    );
  }
}

/** Fields that have no effect where the rule matches (or, `document` with `error`, keep it from matching). */
function fieldProblems(rule: FaultRule, context: FaultRuleContext, report: Report): void {
  const { service, operation } = rule;
  for (const field of COMMAND_FIELDS) {
    if (rule[field] === undefined) continue;
    if (service !== 'SSM') report(field, `no effect on an ${service} rule (${field} is for SSM SendCommand)`);
    else if (operation !== '*' && operation !== 'SendCommand' && knownOperation(rule, context)) {
      report(field, `no effect on SSM ${operation} (${field} is for SendCommand)`);
    }
  }
  const present = EFFECT_FIELDS.filter((field) => rule[field] !== undefined);
  if (rule.latencySeconds !== undefined) latencyProblems(rule, context, present, report);
  if (rule.error !== undefined) {
    if (rule.document !== undefined) {
      report(
        'document',
        'never matches with error (the call fails before any document runs; to fail the command on a node, use exitCode, stderr or status instead of error)',
      );
    }
    for (const field of present) {
      report(
        field,
        `no effect with error (the call fails; ${field} shapes a call that succeeds: use a second rule)`,
      );
    }
    return;
  }
  if (!knownOperation(rule, context)) return;
  if (present.length === 0 && rule.latencySeconds === undefined) {
    report(
      'error',
      'missing: the rule injects nothing (give error, latencySeconds, or delaySeconds, finalState, exitCode, stderr or status where they apply)',
    );
  }
  const sites = EFFECT_SITES[service] ?? {};
  const reading = operation === '*' ? Object.values(sites).flat() : (sites[operation] ?? []);
  for (const field of present.filter((name) => !reading.includes(name))) {
    report(field, `no effect on ${service} ${operation} (${field} applies to ${readersOf(field)})`);
  }
}

/**
 * A `latencySeconds` rule only slows the call down: it cannot also fail it or shape what it creates (one rule, one
 * effect: use a second rule), and the account's internal calls (the SSM agent's registration) take no call time.
 */
function latencyProblems(
  rule: FaultRule,
  context: FaultRuleContext,
  effects: readonly EffectField[],
  report: Report,
): void {
  if (rule.error !== undefined) {
    report(
      'latencySeconds',
      'no effect with error (the call fails at once; use a second rule to slow it down)',
    );
    return;
  }
  for (const field of effects) {
    report(
      field,
      `no effect with latencySeconds (a latency rule only slows the call down: use a second rule)`,
    );
  }
  if (rule.document !== undefined) {
    report(
      'document',
      'never matches with latencySeconds (it selects commands, not calls: use exitCode, stderr, status or delaySeconds)',
    );
  }
  const internal = INTERNAL_OPERATIONS[rule.service] ?? [];
  if (
    internal.includes(rule.operation) &&
    !(context.operations[rule.service] ?? []).includes(rule.operation)
  ) {
    report(
      'latencySeconds',
      `no effect on ${rule.service} ${rule.operation} (the account makes it internally, not through the API)`,
    );
  }
}

/** What a call is about, for matching rules. */
export interface FaultQuery {
  service: string;
  operation: string;
  /** Name tags (or nicknames) of the resources the call touches. */
  targets: string[];
  /** SSM document name, for SendCommand invocations. */
  document?: string;
}

/** True when a rule's target names one of the call's resources: the Name itself, or its `<deployment>-<nickname>` tail. */
function targetMatches(target: string | undefined, names: string[]): boolean {
  if (target === undefined) return true;
  return names.some((name) => name === target || name.endsWith(`-${target}`) || name.endsWith(`_${target}`));
}

/** Holds the rules of one run, counts what fired, and draws probabilities from a seeded generator. */
export class FaultInjector {
  private readonly remaining: number[];
  private seed: number;
  readonly fired: { rule: number; operation: string; target?: string }[] = [];

  constructor(
    readonly rules: FaultRule[] = [],
    seed = 42,
  ) {
    this.remaining = rules.map((rule) => rule.times);
    this.seed = seed;
  }

  /** Mulberry32: reproducible draws, so a failing probabilistic run can be replayed. */
  private random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Finds the first live rule matching the query and consumes one use of it.
   * `kind` selects rules by effect: `error` rules fail the call, `latency` rules (`latencySeconds`, no `error`) slow
   * it down, `effect` rules shape the resource or command.
   */
  take(query: FaultQuery, kind: 'error' | 'effect' | 'latency'): FaultRule | undefined {
    for (const [index, rule] of this.rules.entries()) {
      if (this.remaining[index] === 0) continue;
      if (rule.service !== query.service) continue;
      if (rule.operation !== '*' && rule.operation !== query.operation) continue;
      if (rule.document !== undefined && rule.document !== query.document) continue;
      const ruleKind =
        rule.error !== undefined ? 'error' : rule.latencySeconds !== undefined ? 'latency' : 'effect';
      if (ruleKind !== kind) continue;
      if (!targetMatches(rule.target, query.targets)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      if (this.remaining[index] > 0) this.remaining[index] -= 1;
      this.fired.push({ rule: index, operation: query.operation, target: query.targets[0] });
      return rule;
    }
    return undefined;
  }
}
