import { describe, expect, it } from 'vitest';
import { duplicateKeys, parseSpecJson } from '../../src/core/spec/json-text.js';

const TWICE = 'key given more than once in the same object; JSON keeps only the last value, so give it once';

describe('parseSpecJson', () => {
  it('refuses a key given twice, naming its path, nested ones included', () => {
    const text = `{
      "name": "sample",
      "flavor": { "arch": "arm64", "cassandra": "c7gd.2xlarge", "cassandra": "c7g.2xlarge" },
      "versions": [{ "a": 1 }, { "b": 1, "b": 2, "b": 3 }],
      "name": "other"
    }`;
    expect(parseSpecJson(text)).toEqual({
      value: null,
      problems: [
        { field: 'flavor.cassandra', message: TWICE },
        { field: 'versions.1.b', message: TWICE },
        { field: 'name', message: TWICE },
      ],
    });
  });

  it('accepts a leading UTF-8 byte order mark', () => {
    expect(parseSpecJson('\uFEFF{"name": "sample"}')).toEqual({ value: { name: 'sample' }, problems: [] });
  });

  it('shows an invisible character of a syntax error as its code point, on one line', () => {
    const { problems } = parseSpecJson('\u200B{"name": "sample"}');
    expect(problems).toHaveLength(1);
    expect(problems[0].field).toBe('(spec)');
    expect(problems[0].message).toMatch(/^not valid JSON: .*U\+200B/);
    expect(problems[0].message).not.toMatch(/[\u200B\n]/);
  });

  it('reads keys with escapes and strings holding braces, commas and quotes', () => {
    expect(duplicateKeys('{"a\\"b": "{,}[\\"", "x": [1, {"a\\"b": 2}], "a\\u0022b": 3}')).toEqual(['a"b']);
    expect(duplicateKeys('{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}')).toEqual([]);
  });

  it('scans a deeply nested text without overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(duplicateKeys(deep)).toEqual([]);
  });
});
