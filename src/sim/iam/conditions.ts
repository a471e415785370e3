/**
 * The `Condition` element of an identity-based policy statement, and the string matching it shares with the
 * `Action` and `Resource` elements (wildcards, policy variables, ARN segments). Used by `./evaluate.ts`; imports
 * nothing of ours and nothing AGPL (`@cloud-copilot/iam-simulate` is only the reference of the differential test).
 *
 * Pages cited are in the IAM User Guide (https://docs.aws.amazon.com/IAM/latest/UserGuide/<page>.html).
 */

/** Condition context as evaluated: keys lower-cased (condition keys are case-insensitive), values as given. */
export type Context = ReadonlyMap<string, string | readonly string[]>;

/** Looks up `${...}` policy variables; absent when the policy predates Version 2012-10-17 (no variables then). */
export type Variables = Context | undefined;

// ---------------------------------------------------------------------------------------------------------------
// Wildcards and policy variables

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * The regular expression of one policy string: with `wildcards`, `*` matches any run of characters and `?` any one
 * character (reference_policies_elements_resource, "Using wildcards in resource ARNs"; StringLike in
 * reference_policies_elements_condition_operators). With `variables`, `${key}` is replaced by the single value of
 * that context key, `${key, 'default'}` falls back to the default, and `${*}`, `${?}`, `${$}` stand for the literal
 * characters (reference_policies_variables, "Special characters" and "Specifying default values"). A variable with
 * no value (key absent, or multivalued: "you can't use multivalued context keys as policy variables",
 * reference_policies_condition-single-vs-multi-valued-context-keys) makes the string match nothing: returns
 * undefined.
 */
export function patternOf(
  value: string,
  options: { wildcards: boolean; ignoreCase?: boolean },
  variables: Variables,
): RegExp | undefined {
  // Without a variable to substitute, the expression depends on the string and options only: build it once.
  if (variables && value.includes('${')) return buildPattern(value, options, variables);
  const key = `${options.wildcards ? 'w' : '-'}${options.ignoreCase ? 'i' : '-'}${value}`;
  let pattern = constantPatterns.get(key);
  if (!pattern) {
    if (constantPatterns.size >= MAX_CONSTANT_PATTERNS) constantPatterns.clear();
    pattern = buildPattern(value, options, undefined)!;
    constantPatterns.set(key, pattern);
  }
  return pattern;
}

/** Expressions of policy strings that hold no variable (no `g` or `y` flag: `test` keeps no state between calls). */
const constantPatterns = new Map<string, RegExp>();
const MAX_CONSTANT_PATTERNS = 10_000;

function buildPattern(
  value: string,
  options: { wildcards: boolean; ignoreCase?: boolean },
  variables: Variables,
): RegExp | undefined {
  let source = '';
  let index = 0;
  while (index < value.length) {
    const char = value[index];
    const close = char === '$' && value[index + 1] === '{' && variables ? value.indexOf('}', index + 2) : -1;
    if (close !== -1) {
      const inside = value.slice(index + 2, close);
      index = close + 1;
      if (inside === '*' || inside === '?' || inside === '$') {
        source += escapeRegExp(inside);
        continue;
      }
      const [name, fallback] = inside.split(', ');
      const found = variables?.get(name.trim().toLowerCase());
      const defaulted =
        fallback?.startsWith("'") && fallback.endsWith("'") ? fallback.slice(1, -1) : undefined;
      const resolved = typeof found === 'string' ? found : defaulted;
      if (resolved === undefined) return undefined;
      source += escapeRegExp(resolved);
    } else {
      index += 1;
      if (options.wildcards && char === '*') source += '.*';
      else if (options.wildcards && char === '?') source += '.';
      else source += escapeRegExp(char);
    }
  }
  return new RegExp(`^${source}$`, options.ignoreCase ? 'is' : 's');
}

/** Whether a policy string (wildcards, variables) matches a value. */
export const globMatches = (pattern: string, value: string, variables: Variables, ignoreCase = false) =>
  patternOf(pattern, { wildcards: true, ignoreCase }, variables)?.test(value) ?? false;

/**
 * ARN matching of ArnEquals / ArnLike (reference_policies_elements_condition_operators, "Amazon Resource Name (ARN)
 * condition operators": "Each of the six colon-delimited components of the ARN is checked separately and each can
 * include multi-character match wildcards (*) or single-character match wildcards (?)"; ArnEquals behaves as
 * ArnLike). The sixth component is everything after the fifth colon, so a wildcard there spans `/` and `:`.
 */
export function arnMatches(policyArn: string, requestArn: string, variables: Variables): boolean {
  const policy = splitArn(policyArn);
  const request = splitArn(requestArn);
  if (!policy || !request) return false;
  return policy.every((part, i) => globMatches(part, request[i], variables));
}

/** `arn:partition:service:region:account:resource` as six parts (the resource keeps its colons), or undefined. */
export function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

// ---------------------------------------------------------------------------------------------------------------
// Condition operators (reference_policies_elements_condition_operators)

/**
 * One base operator. `test` compares one request value with one policy value. A negated operator (…Not…) holds
 * when the request value differs from every policy value ("negated matching": the values of the key are NOR-ed),
 * a positive one when it equals any of them (OR). An invalid value (not a number, a date, a boolean) satisfies
 * neither form.
 */
interface Operator {
  readonly negated: boolean;
  readonly test: (requestValue: string, policyValue: string, variables: Variables) => boolean;
}

const stringEquals = (ignoreCase: boolean) => (request: string, policy: string, variables: Variables) =>
  patternOf(policy, { wildcards: false, ignoreCase }, variables)?.test(request) ?? false;

/** Numbers as the JSON grammar writes them (integers and decimals), nothing else. */
const parseNumber = (value: string) =>
  /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : undefined;

/**
 * A date: epoch seconds (all digits), or any W3C/ISO 8601 date (reference_policies_elements_condition_operators), in
 * milliseconds so the two forms compare (iam-simulate compares epoch seconds with ISO milliseconds).
 */
const parseDate = (value: string) => {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
};

const compare =
  (parse: (value: string) => number | undefined, holds: (request: number, policy: number) => boolean) =>
  (request: string, policy: string) => {
    const r = parse(request);
    const p = parse(policy);
    return r !== undefined && p !== undefined && holds(r, p);
  };

const numericOrDate = (prefix: 'Numeric' | 'Date', parse: (value: string) => number | undefined) => ({
  [`${prefix}Equals`]: { negated: false, test: compare(parse, (r, p) => r === p) },
  [`${prefix}NotEquals`]: { negated: true, test: compare(parse, (r, p) => r !== p) },
  [`${prefix}LessThan`]: { negated: false, test: compare(parse, (r, p) => r < p) },
  [`${prefix}LessThanEquals`]: { negated: false, test: compare(parse, (r, p) => r <= p) },
  [`${prefix}GreaterThan`]: { negated: false, test: compare(parse, (r, p) => r > p) },
  [`${prefix}GreaterThanEquals`]: { negated: false, test: compare(parse, (r, p) => r >= p) },
});

const isBoolean = (value: string) => /^(true|false)$/i.test(value);

/** For a negated operator, `test` is the comparison itself (its NOR over the policy values is done by `matches`). */
const OPERATORS: Record<string, Operator> = Object.fromEntries(
  Object.entries({
    StringEquals: { negated: false, test: stringEquals(false) },
    StringNotEquals: { negated: true, test: (r, p, v) => !stringEquals(false)(r, p, v) },
    StringEqualsIgnoreCase: { negated: false, test: stringEquals(true) },
    StringNotEqualsIgnoreCase: { negated: true, test: (r, p, v) => !stringEquals(true)(r, p, v) },
    StringLike: { negated: false, test: (r, p, v) => globMatches(p, r, v) },
    StringNotLike: { negated: true, test: (r, p, v) => !globMatches(p, r, v) },
    ...numericOrDate('Numeric', parseNumber),
    ...numericOrDate('Date', parseDate),
    // "Bool": true/false, case-insensitive; variables allowed.
    Bool: {
      negated: false,
      test: (r, p, v) => isBoolean(r) && isBoolean(p) && stringEquals(true)(r, p, v),
    },
    // BinaryEquals compares the base-64 text as given.
    BinaryEquals: { negated: false, test: (r, p) => r === p },
    ArnEquals: { negated: false, test: (r, p, v) => arnMatches(p, r, v) },
    ArnLike: { negated: false, test: (r, p, v) => arnMatches(p, r, v) },
    ArnNotEquals: { negated: true, test: (r, p, v) => splitArn(r) !== undefined && !arnMatches(p, r, v) },
    ArnNotLike: { negated: true, test: (r, p, v) => splitArn(r) !== undefined && !arnMatches(p, r, v) },
  } satisfies Record<string, Operator>).map(([name, operator]) => [name.toLowerCase(), operator]),
);

/** One request value against the policy values of a key: OR for a positive operator, NOR for a negated one. */
const matches = (operator: Operator, requestValue: string, policyValues: string[], variables: Variables) =>
  operator.negated
    ? policyValues.every((policy) => operator.test(requestValue, policy, variables))
    : policyValues.some((policy) => operator.test(requestValue, policy, variables));

/** Policy values as strings: JSON booleans and numbers are written as text (`"Bool": {"k": true}`). */
const policyValuesOf = (raw: unknown): string[] =>
  (Array.isArray(raw) ? raw : [raw]).filter((value) => value !== null && value !== undefined).map(String);

/**
 * Whether one `operator: { key: values }` entry holds. Rules, from reference_policies_elements_condition (the
 * "evaluation logic for conditions" and missing-key paragraphs), reference_policies_elements_condition_operators
 * (IfExists, Null) and reference_policies_condition-single-vs-multi-valued-context-keys (set operators):
 * - `Null`: `true` holds when the key is absent, `false` when it is present (whatever its value);
 * - a key absent from the context: false, except for a negated operator ("if the policy condition requires that the
 *   key is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition is
 *   true"), an `…IfExists` operator ("if the key is not present, evaluate the condition element as true"; with
 *   `ForAnyValue:` too, where iam-simulate says false), and
 *   `ForAllValues:` ("returns true if there are no context keys in the request");
 * - `ForAllValues:` holds when every request value matches (so an empty set holds), `ForAnyValue:` when at least
 *   one does (so an empty set does not);
 * - without a set operator, a multivalued request value does not match ("multivalued context keys require a
 *   condition set operator"), as in iam-simulate;
 * - an unknown operator (IpAddress and NotIpAddress included: no IP keys here) never holds: an Allow with it grants
 *   nothing and a Deny with it denies nothing.
 */
export function conditionHolds(
  operatorName: string,
  key: string,
  rawValues: unknown,
  context: Context,
  variables: Variables,
): boolean {
  const policyValues = policyValuesOf(rawValues);
  const setMatch = /^(ForAllValues|ForAnyValue):(.*)$/i.exec(operatorName);
  const setOperator = setMatch?.[1].toLowerCase();
  const rest = setMatch ? setMatch[2] : operatorName;
  const ifExists = /IfExists$/i.test(rest);
  const base = (ifExists ? rest.slice(0, -'IfExists'.length) : rest).toLowerCase();
  const value = context.get(key.toLowerCase());

  if (base === 'null') {
    const wanted = value === undefined ? 'true' : 'false';
    return policyValues.some((policy) => policy.toLowerCase() === wanted);
  }
  const operator = OPERATORS[base];
  if (!operator) return false;

  if (value === undefined) {
    if (ifExists) return true;
    if (setOperator === 'forallvalues') return true;
    if (setOperator === 'foranyvalue') return false;
    return operator.negated;
  }
  if (setOperator) {
    const values = typeof value === 'string' ? [value] : value;
    const test = (one: string) => matches(operator, one, policyValues, variables);
    return setOperator === 'forallvalues' ? values.every(test) : values.some(test);
  }
  if (typeof value !== 'string') return false;
  return matches(operator, value, policyValues, variables);
}

/**
 * Whether a whole `Condition` block holds: every operator, and within an operator every key (AND); the values of
 * one key are OR-ed (NOR-ed for a negated operator) by {@link conditionHolds}. reference_policies_multi-value-conditions.
 */
export function conditionsHold(
  condition: Record<string, Record<string, unknown>> | undefined,
  context: Context,
  variables: Variables,
): boolean {
  if (!condition) return true;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys ?? {}).every(([key, values]) =>
      conditionHolds(operator, key, values, context, variables),
    ),
  );
}
