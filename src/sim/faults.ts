import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Fault rules for the simulated account, from a JSON file passed as `--faults <file>`.
 * A rule matches a service operation (or `*`), optionally one target (a Name tag or a node nickname).
 * With `error` it fails the call with that AWS error code; with `delaySeconds` or `finalState` it changes how an
 * asynchronous resource settles; with the SSM fields it changes how a command ends on a node.
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
  document: z.string().min(1).optional().describe('SSM: only commands of this document'),
  exitCode: z.number().int().optional().describe('SSM: exit code the command ends with on the target'),
  stderr: z.string().optional().describe('SSM: standard error the command writes on the target'),
  status: z
    .enum(['Failed', 'TimedOut', 'Cancelled'])
    .optional()
    .describe('SSM: final status of the invocation'),
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
   * `kind` selects rules by effect: `error` rules fail the call, `effect` rules shape the resource or command.
   */
  take(query: FaultQuery, kind: 'error' | 'effect'): FaultRule | undefined {
    for (const [index, rule] of this.rules.entries()) {
      if (this.remaining[index] === 0) continue;
      if (rule.service !== query.service) continue;
      if (rule.operation !== '*' && rule.operation !== query.operation) continue;
      if (rule.document !== undefined && rule.document !== query.document) continue;
      if ((rule.error !== undefined) !== (kind === 'error')) continue;
      if (!targetMatches(rule.target, query.targets)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      if (this.remaining[index] > 0) this.remaining[index] -= 1;
      this.fired.push({ rule: index, operation: query.operation, target: query.targets[0] });
      return rule;
    }
    return undefined;
  }
}
