import { tagValue } from '../../../core/tags.js';
import { pageOf } from '../../pagination.js';
import { UBUNTU_AMIS } from '../ec2.js';
import type { Tag } from '../iam.js';
import {
  type Ctx,
  constraintError,
  digest,
  NO_MESSAGE,
  type SsmParameter,
  ssmError,
  ssmPaging,
  ssmState,
} from './state.js';

// Parameter Store: String, StringList and SecureString parameters, and the public AMI parameters.

const BY_PATH_PAGING = ssmPaging(1, 10, 10);
const DESCRIBE_PAGING = ssmPaging(1, 50, 50);

const PUBLIC_AMI_PARAMETER =
  /^\/aws\/service\/canonical\/ubuntu\/server\/24\.04\/stable\/current\/(arm64|amd64)\/hvm\/ebs-gp3\/ami-id$/;
const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

function publicParameter(ctx: Ctx, name: string) {
  const arch = PUBLIC_AMI_PARAMETER.exec(name)?.[1];
  const amis = UBUNTU_AMIS as Record<string, string | undefined>;
  const ami = arch
    ? (amis[`${ctx.region}/${arch}`] ?? amis[`${ctx.region}/${arch === 'amd64' ? 'x86_64' : arch}`])
    : undefined;
  if (!ami) return undefined;
  return {
    Name: name,
    Type: 'String',
    Value: ami,
    Version: 12,
    LastModifiedDate: new Date('2025-11-01T00:00:00Z'),
    // Public parameters have no account in their ARN.
    ARN: `arn:aws:ssm:${ctx.region}::parameter${name}`,
    DataType: 'aws:ec2:image',
  };
}

function checkParameterName(name: unknown): string {
  const value = String(name ?? '');
  const segments = value.startsWith('/') ? value.slice(1).split('/') : [value];
  const valid =
    value.length > 0 &&
    value.length <= 2048 &&
    !/^\/?(aws|ssm)/i.test(value) &&
    (value.startsWith('/') || !value.includes('/')) &&
    segments.length <= 15 &&
    segments.every((segment) => /^[a-zA-Z0-9_.-]+$/.test(segment));
  if (!valid) throw ssmError('ValidationException', NAME_RULES);
  return value;
}

function parameterArn(ctx: Ctx, name: string): string {
  return `arn:aws:ssm:${ctx.region}:${ctx.caller.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** A stand-in for the KMS ciphertext GetParameter returns for a SecureString read without decryption. */
function ciphertext(parameter: SsmParameter): string {
  const blob = Buffer.from(
    digest(`${parameter.KeyId}:${parameter.Name}:${parameter.Version}:${parameter.Value}`) +
      digest(parameter.Value),
    'hex',
  );
  return `AQICAHh${blob.toString('base64')}`;
}

function parameterOutput(ctx: Ctx, parameter: SsmParameter, withDecryption: boolean) {
  const hidden = parameter.Type === 'SecureString' && !withDecryption;
  return {
    Name: parameter.Name,
    Type: parameter.Type,
    Value: hidden ? ciphertext(parameter) : parameter.Value,
    Version: parameter.Version,
    LastModifiedDate: new Date(parameter.LastModifiedDate),
    ARN: parameterArn(ctx, parameter.Name),
    DataType: parameter.DataType,
  };
}

function lookupParameter(ctx: Ctx, rawName: string, withDecryption: boolean) {
  const [name, selector] = rawName.split(':');
  const stored = ssmState(ctx).parameters[name];
  if (stored && (selector === undefined || selector === String(stored.Version))) {
    return {
      ...parameterOutput(ctx, stored, withDecryption),
      ...(selector ? { Selector: `:${selector}` } : {}),
    };
  }
  return selector === undefined ? publicParameter(ctx, name) : undefined;
}

function getParameter(ctx: Ctx, input: any) {
  const parameter = lookupParameter(ctx, String(input.Name ?? ''), input.WithDecryption === true);
  if (!parameter) throw ssmError('ParameterNotFound', NO_MESSAGE);
  return { Parameter: parameter };
}

function checkPutInput(input: any, existing: SsmParameter | undefined) {
  const type = input.Type ?? existing?.Type;
  if (type === undefined) {
    throw ssmError('ValidationException', 'A parameter type is required when you create a parameter.');
  }
  if (!['String', 'StringList', 'SecureString'].includes(type)) {
    throw constraintError(
      'type',
      type,
      'Member must satisfy enum value set: [SecureString, StringList, String]',
    );
  }
  if (input.KeyId !== undefined && type !== 'SecureString') {
    throw ssmError('ValidationException', 'KeyId is required for SecureString type parameter only.');
  }
  if (input.Tags?.length && input.Overwrite) {
    throw ssmError(
      'ValidationException',
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags on an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  const value = String(input.Value ?? '');
  if (value.length > 4096) {
    throw ssmError(
      'ValidationException',
      'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.',
    );
  }
  const pattern = input.AllowedPattern ?? existing?.AllowedPattern;
  if (pattern !== undefined && !new RegExp(pattern).test(value)) {
    throw ssmError(
      'ParameterPatternMismatchException',
      `Parameter value, cannot be validated against allowedPattern: ${pattern}`,
    );
  }
  return { type: type as SsmParameter['Type'], value, pattern };
}

function putParameter(ctx: Ctx, input: any) {
  const name = checkParameterName(input.Name);
  const parameters = ssmState(ctx).parameters;
  const existing = parameters[name];
  const { type, value, pattern } = checkPutInput(input, existing);
  if (existing && !input.Overwrite) {
    throw ssmError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    );
  }
  const description = input.Description ?? existing?.Description;
  parameters[name] = {
    Name: name,
    Type: type,
    Value: value,
    ...(type === 'SecureString' ? { KeyId: input.KeyId ?? existing?.KeyId ?? 'alias/aws/ssm' } : {}),
    Version: (existing?.Version ?? 0) + 1,
    LastModifiedDate: ctx.now(),
    LastModifiedUser: ctx.caller.arn,
    ...(description === undefined ? {} : { Description: String(description) }),
    ...(pattern === undefined ? {} : { AllowedPattern: pattern }),
    Tier: 'Standard',
    DataType: input.DataType ?? existing?.DataType ?? 'text',
    Tags: existing?.Tags ?? (input.Tags ?? []).map((tag: Tag) => ({ Key: tag.Key, Value: tag.Value ?? '' })),
  };
  return { Version: parameters[name].Version, Tier: 'Standard' };
}

function checkNames(names: unknown): string[] {
  const list = Array.isArray(names) ? names.map(String) : [];
  if (list.length < 1)
    throw constraintError(
      'names',
      `[${list.join(', ')}]`,
      'Member must have length greater than or equal to 1',
    );
  if (list.length > 10)
    throw constraintError(
      'names',
      `[${list.join(', ')}]`,
      'Member must have length less than or equal to 10',
    );
  return list;
}

function getParameters(ctx: Ctx, input: any) {
  const names = checkNames(input.Names);
  const found = names.map(
    (name) => [name, lookupParameter(ctx, name, input.WithDecryption === true)] as const,
  );
  return {
    Parameters: found.flatMap(([, parameter]) => (parameter ? [parameter] : [])),
    InvalidParameters: found.filter(([, parameter]) => !parameter).map(([name]) => name),
  };
}

/** True when `name` lies under `path`: directly, or at any depth when recursive. */
function underPath(name: string, path: string, recursive: boolean): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(prefix)) return false;
  return recursive || !name.slice(prefix.length).includes('/');
}

function getParametersByPath(ctx: Ctx, input: any) {
  const path = String(input.Path ?? '');
  if (!path.startsWith('/')) throw ssmError('ValidationException', NAME_RULES);
  const recursive = input.Recursive === true;
  const names = Object.keys(ssmState(ctx).parameters)
    .filter((name) => underPath(name, path, recursive))
    .sort();
  const request = { size: input.MaxResults, token: input.NextToken, scope: `byPath:${path}:${recursive}` };
  const { page, ...next } = pageOf(names, request, BY_PATH_PAGING);
  return {
    Parameters: page.map((name) =>
      parameterOutput(ctx, ctx.state.parameters[name], input.WithDecryption === true),
    ),
    ...next,
  };
}

function deleteParameter(ctx: Ctx, input: any) {
  const name = String(input.Name ?? '');
  if (!ssmState(ctx).parameters[name]) throw ssmError('ParameterNotFound', NO_MESSAGE);
  delete ctx.state.parameters[name];
  return {};
}

function deleteParameters(ctx: Ctx, input: any) {
  const names = checkNames(input.Names);
  const parameters = ssmState(ctx).parameters;
  const deleted = names.filter((name) => name in parameters);
  for (const name of deleted) delete parameters[name];
  return { DeletedParameters: deleted, InvalidParameters: names.filter((name) => !deleted.includes(name)) };
}

type ParameterPredicate = (parameter: SsmParameter) => boolean;

const OPTIONS_MESSAGE =
  'The specified filter option is not valid. Valid options are Equals and BeginsWith. For Path filter, valid options are Recursive and OneLevel.';

function describeFilter(filter: { Key?: string; Option?: string; Values?: string[] }): ParameterPredicate {
  const key = String(filter.Key ?? '');
  const values = filter.Values ?? [];
  const option = filter.Option;
  if (key === 'Path') {
    if (option !== undefined && option !== 'Recursive' && option !== 'OneLevel') {
      throw ssmError('InvalidFilterOption', OPTIONS_MESSAGE);
    }
    return (p) => values.some((path) => underPath(p.Name, path, option === 'Recursive'));
  }
  const field: Record<string, (p: SsmParameter) => string | undefined> = {
    Name: (p) => p.Name,
    Type: (p) => p.Type,
    KeyId: (p) => p.KeyId,
    Tier: (p) => p.Tier,
    DataType: (p) => p.DataType,
  };
  const read = key.startsWith('tag:') ? (p: SsmParameter) => tagValue(p.Tags, key.slice(4)) : field[key];
  if (!read) throw ssmError('InvalidFilterKey', 'The specified key is not valid.');
  if (option !== undefined && !['Equals', 'BeginsWith', 'Contains'].includes(option)) {
    throw ssmError('InvalidFilterOption', OPTIONS_MESSAGE);
  }
  return (p) => {
    const actual = read(p);
    if (actual === undefined) return false;
    if (option === 'BeginsWith') return values.some((value) => actual.startsWith(value));
    if (option === 'Contains') return values.some((value) => actual.includes(value));
    return values.length === 0 || values.includes(actual);
  };
}

function describeParameters(ctx: Ctx, input: any) {
  const predicates = (input.ParameterFilters ?? []).map(describeFilter);
  const matching = Object.values(ssmState(ctx).parameters)
    .filter((parameter) => predicates.every((predicate: ParameterPredicate) => predicate(parameter)))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  const scope = `describe:${JSON.stringify(input.ParameterFilters ?? [])}`;
  const request = { size: input.MaxResults, token: input.NextToken, scope };
  const { page, ...next } = pageOf(matching, request, DESCRIBE_PAGING);
  return {
    Parameters: page.map((p) => ({
      Name: p.Name,
      ARN: parameterArn(ctx, p.Name),
      Type: p.Type,
      ...(p.KeyId ? { KeyId: p.KeyId } : {}),
      LastModifiedDate: new Date(p.LastModifiedDate),
      LastModifiedUser: p.LastModifiedUser,
      ...(p.Description === undefined ? {} : { Description: p.Description }),
      ...(p.AllowedPattern === undefined ? {} : { AllowedPattern: p.AllowedPattern }),
      Version: p.Version,
      Tier: p.Tier,
      Policies: [],
      DataType: p.DataType,
    })),
    ...next,
  };
}

/** Parameter Store's operations. */
export const parameterOperations = {
  GetParameter: getParameter,
  GetParameters: getParameters,
  GetParametersByPath: getParametersByPath,
  PutParameter: putParameter,
  DeleteParameter: deleteParameter,
  DeleteParameters: deleteParameters,
  DescribeParameters: describeParameters,
};
