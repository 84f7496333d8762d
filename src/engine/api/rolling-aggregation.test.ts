import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rollingAggregation } from './rolling-aggregation.ts';

type R = { readonly v: number; readonly id: number };
const scan = (f: (a: R, b: R) => R, records: readonly R[]): R[] => {
  const out: R[] = [];
  for (const r of records) out.push(out.length === 0 ? r : f(out.at(-1)!, r));
  return out;
};
const records = fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 30 }).map((vs) => vs.map((v, id) => ({ v, id })));

describe('rolling aggregations (Flink semantics)', () => {
  it('min/max: the extreme so far in the field, every other field the first record’s', () => {
    fc.assert(
      fc.property(records, (rs) => {
        const mins = scan(rollingAggregation<R>('min', 'v'), rs);
        const maxs = scan(rollingAggregation<R>('max', 'v'), rs);
        rs.forEach((_, i) => {
          const seen = rs.slice(0, i + 1).map((r) => r.v);
          expect(mins[i]).toEqual({ v: Math.min(...seen), id: 0 });
          expect(maxs[i]).toEqual({ v: Math.max(...seen), id: 0 });
        });
      }),
    );
  });

  it('minBy/maxBy: the whole record holding the extreme, the first of equals or, with first = false, the latest', () => {
    fc.assert(
      fc.property(records, (rs) => {
        const minFirst = scan(rollingAggregation<R>('minBy', 'v', true), rs);
        const minLast = scan(rollingAggregation<R>('minBy', 'v', false), rs);
        const maxFirst = scan(rollingAggregation<R>('maxBy', 'v', true), rs);
        rs.forEach((_, i) => {
          const seen = rs.slice(0, i + 1);
          const lo = Math.min(...seen.map((r) => r.v));
          const hi = Math.max(...seen.map((r) => r.v));
          expect(minFirst[i]).toBe(seen.find((r) => r.v === lo));
          expect(minLast[i]).toBe(seen.findLast((r) => r.v === lo));
          expect(maxFirst[i]).toBe(seen.find((r) => r.v === hi));
        });
      }),
    );
  });

  it('sum keeps the first record’s other fields; tuples stay arrays; strings compare as strings', () => {
    expect(scan(rollingAggregation<R>('sum', 'v'), [{ v: 1, id: 7 }, { v: 2, id: 8 }])).toEqual([{ v: 1, id: 7 }, { v: 3, id: 7 }]);
    const t = rollingAggregation<[string, number]>('sum', 1)(['a', 1], ['b', 2]);
    expect(t).toEqual(['a', 3]);
    expect(Array.isArray(t)).toBe(true);
    expect(rollingAggregation<{ s: string }>('max', 's')({ s: 'b' }, { s: 'ab' })).toEqual({ s: 'b' });
    expect(() => rollingAggregation<{ s: unknown }>('min', 's')({ s: 'b' }, { s: 1 })).toThrow('min("s"): cannot compare a string with a number');
  });
});
