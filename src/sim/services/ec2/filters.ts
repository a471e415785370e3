import { type Page, type PageRequest, type Paging, pageOf } from '../../pagination.js';
import type { Tag } from '../iam.js';
import { ec2Error, invalidParameter } from './state.js';

/** A value a filter compares against: one or several per entry (`association.subnet-id` of a route table). */
type FieldValue = string | number | boolean | undefined | null;

/** Filter name -> how to read it from an entry. `tag:<key>`, `tag-key` and `tag-value` work on every type. */
export type FilterFields<T> = Record<string, (entry: T) => FieldValue | FieldValue[]>;

interface Filter {
  Name?: string;
  Values?: string[];
}

/** EC2 filter values accept `*` (any run of characters) and `?` (one character). */
function pattern(value: string): RegExp {
  const escaped = value
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${escaped}$`, 's');
}

function valuesOf<T extends object>(entry: T, name: string, fields: FilterFields<T>): FieldValue[] {
  const tags = (entry as { Tags?: Tag[] }).Tags ?? [];
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return tags.filter((tag) => tag.Key === key).map((tag) => tag.Value);
  }
  if (name === 'tag-key') return tags.map((tag) => tag.Key);
  if (name === 'tag-value') return tags.map((tag) => tag.Value);
  const value = fields[name](entry);
  return Array.isArray(value) ? value : [value];
}

/**
 * Compiles EC2 `Filters` into a predicate: every filter must match (AND), and within a filter any value (OR).
 * An unknown filter name is EC2's InvalidParameterValue, so a handler's typo fails loudly here as on AWS.
 */
export function filterOf<T extends object>(filters: unknown, fields: FilterFields<T>): (entry: T) => boolean {
  const list = (Array.isArray(filters) ? filters : []) as Filter[];
  const compiled = list.map((filter) => {
    if (!filter.Name) throw ec2Error('InvalidFilter', 'The filter name must not be empty.');
    const generic =
      filter.Name.startsWith('tag:') || filter.Name === 'tag-key' || filter.Name === 'tag-value';
    if (!generic && !fields[filter.Name]) throw invalidParameter(`The filter '${filter.Name}' is invalid`);
    return { name: filter.Name, patterns: (filter.Values ?? []).map(pattern) };
  });
  return (entry) =>
    compiled.every(({ name, patterns }) =>
      valuesOf(entry, name, fields).some(
        (value) =>
          value !== undefined && value !== null && patterns.some((regex) => regex.test(String(value))),
      ),
    );
}

/** How EC2's describes page: MaxResults within [min, max]; without it and a NextToken, everything at once. */
function ec2Paging(min: number, max: number): Paging {
  return {
    min,
    max,
    fallback: 1000,
    wholeByDefault: true,
    badSize: (size) =>
      invalidParameter(
        `Value ( ${size} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
      ),
    badToken: () => ec2Error('InvalidNextToken', 'The token provided is invalid.'),
  };
}

/** One page of a describe call's results, with a NextToken bound to `scope` (the query). */
export function describePage<T>(items: T[], input: any, scope: string, max = 1000): Page<T> {
  const request: PageRequest = { size: input.MaxResults, token: input.NextToken, scope };
  return pageOf(items, request, ec2Paging(5, max));
}
