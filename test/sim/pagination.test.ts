import { describe, expect, it } from 'vitest';
import { type Paging, pageOf, pageSize } from '../../src/sim/pagination.js';

const paging: Paging = {
  min: 1,
  max: 10,
  fallback: 3,
  badSize: (size) => new Error(`bad size ${size}`),
  badToken: () => new Error('bad token'),
};
const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/** Every item, following NextToken from page to page. */
function walk(scope: string, size: unknown, rules = paging): string[][] {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const { page, NextToken } = pageOf(items, { size, token, scope }, rules);
    pages.push(page);
    token = NextToken;
  } while (token);
  return pages;
}

describe('pageOf', () => {
  it('pages with the requested size, else the fallback, and gives no token on the last page', () => {
    expect(walk('q', 3)).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    expect(walk('q', undefined)).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    expect(walk('q', 10)).toEqual([items]);
    expect(pageOf(items, { size: 7, token: '', scope: 'q' }, paging)).toEqual({ page: items });
  });

  it('refuses a size out of bounds or not an integer with the service error', () => {
    for (const size of [0, 11, 2.5, 'many']) {
      expect(() => pageOf(items, { size, token: undefined, scope: 'q' }, paging)).toThrow('bad size');
    }
    expect(pageSize(null, paging)).toBe(3);
  });

  it('binds a token to its query: another query or a made-up token is the service error', () => {
    const first = pageOf(items, { size: 2, token: undefined, scope: 'q1' }, paging);
    expect(first.NextToken).toBeTruthy();
    const other = { size: 2, token: first.NextToken, scope: 'q2' };
    expect(() => pageOf(items, other, paging)).toThrow('bad token');
    expect(() => pageOf(items, { size: 2, token: 'bogus', scope: 'q1' }, paging)).toThrow('bad token');
  });

  it('answers everything at once without size and token when the service does (EC2)', () => {
    const ec2 = { ...paging, wholeByDefault: true };
    expect(pageOf(items, { size: undefined, token: undefined, scope: 'q' }, ec2)).toEqual({ page: items });
    expect(walk('q', 2, ec2)).toHaveLength(4);
  });
});
