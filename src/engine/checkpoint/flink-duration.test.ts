import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFlinkDuration, parseFlinkDuration } from './flink-duration.ts';

describe('parseFlinkDuration', () => {
  it.each([
    ['500', 500],
    ['500 ms', 500],
    ['500ms', 500],
    ['10 s', 10_000],
    ['10s', 10_000],
    ['10 sec', 10_000],
    ['10 secs', 10_000],
    ['10 seconds', 10_000],
    ['1 min', 60_000],
    ['10min', 600_000],
    ['3 m', 180_000],
    ['2 minutes', 120_000],
    ['2 h', 7_200_000],
    ['1 hour', 3_600_000],
    ['1 d', 86_400_000],
    ['2 days', 172_800_000],
    ['10 MIN', 600_000],
    ['  7 S  ', 7_000],
    ['0', 0],
    ['1500 µs', 1],
    ['999999 ns', 0],
    ['3 millis', 3],
  ])('%j is %d ms', (text, ms) => {
    expect(parseFlinkDuration(text)).toBe(ms);
  });

  it.each(['', ' ', 'ms', '-1', '+1', '1.5 s', '1,5 s', '10 lightyears', '10 s s', 'ten', '1e3', `${'9'.repeat(30)}`])(
    '%j is not a duration',
    (text) => {
      expect(parseFlinkDuration(text)).toBeUndefined();
    },
  );

  it('reads back what it is given in any unit', () => {
    const units = [['ms', 1], [' s', 1000], ['min', 60_000], [' h', 3_600_000], ['d', 86_400_000]] as const;
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.constantFrom(...units), (n, [unit, ms]) => {
        expect(parseFlinkDuration(`${n}${unit}`)).toBe(n * ms);
      }),
    );
  });
});

describe('formatFlinkDuration', () => {
  it.each([
    [10, '10 ms'],
    [1_500, '1500 ms'],
    [10_000, '10 s'],
    [600_000, '10 min'],
    [7_200_000, '2 h'],
    [86_400_000, '1 d'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatFlinkDuration(ms)).toBe(text);
  });

  it('writes a duration that parses back to itself', () => {
    fc.assert(fc.property(fc.nat({ max: 2 ** 40 }), (ms) => parseFlinkDuration(formatFlinkDuration(ms)) === ms));
  });
});
