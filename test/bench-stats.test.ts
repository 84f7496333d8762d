import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { medianInterval, range } from '../bench/stats.ts';

/** P(B <= j), B ~ Binomial(n, 1/2), by exact integer counts (n small). */
function binomialCdf(n: number, j: number): number {
  let c = 1n;
  let sum = 0n;
  for (let i = 0; i <= j; i++) {
    sum += c;
    c = (c * BigInt(n - i)) / BigInt(i + 1);
  }
  return Number(sum) / 2 ** n;
}

describe('medianInterval', () => {
  it('takes the order statistics the binomial tables give', () => {
    const xs = Array.from({ length: 15 }, (_, i) => 15 - i); // 15..1, unsorted on purpose
    // n = 15 at 95%: ranks 4 and 12, coverage 1 - 2 * 576 / 32768.
    expect(medianInterval(xs)).toEqual({ low: 4, high: 12, coverage: 1 - (2 * 576) / 32768 });
    // n = 6 at 95%: only [min, max], coverage 1 - 2 / 64.
    expect(medianInterval([3, 1, 2, 6, 5, 4])).toEqual({ low: 1, high: 6, coverage: 1 - 2 / 64 });
    // n = 10 at 90%: ranks 2 and 9 (coverage 0.979); ranks 3 and 8 cover 1 - 2 * 56 / 1024 = 0.891, too little.
    expect(medianInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toEqual({ low: 2, high: 9, coverage: 1 - (2 * 11) / 1024 });
  });

  it('has no interval when even [min, max] covers too little', () => {
    expect(medianInterval([1, 2, 3, 4, 5])).toBeUndefined();
    expect(medianInterval([])).toBeUndefined();
    // One sample equals the median with probability 0: its interval covers nothing.
    expect(medianInterval([1], 0.5)).toBeUndefined();
  });

  it('covers at least the level, with the narrowest such pair of ranks, around the median', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }), fc.constantFrom(0.5, 0.9, 0.95, 0.99), (xs, level) => {
        const got = medianInterval(xs, level);
        const n = xs.length;
        const sorted = [...xs].sort((a, b) => a - b);
        // The largest k with 1 - 2 P(B <= k - 1) >= level, exactly.
        let k = 0;
        for (let j = 1; 2 * j <= n + 1; j++) if (1 - 2 * binomialCdf(n, j - 1) >= level - 1e-12) k = j;
        if (k === 0) return got === undefined;
        if (got === undefined) return false;
        const { median } = range(xs);
        return got.low === sorted[k - 1] && got.high === sorted[n - k] && got.coverage >= level - 1e-12 && got.low <= median && median <= got.high && Math.abs(got.coverage - (1 - 2 * binomialCdf(n, k - 1))) < 1e-9;
      }),
    );
  });

  it('holds the true median at about its coverage over many samples of a known distribution', () => {
    // Deterministic: a fixed linear congruential generator, uniform on [0, 1), true median 0.5.
    let seed = 12345;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let held = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const got = medianInterval(Array.from({ length: 15 }, next))!;
      if (got.low <= 0.5 && 0.5 <= got.high) held++;
    }
    // Coverage 0.9648: 4000 trials put the share within 0.945-0.985 with room to spare.
    expect(held / trials).toBeGreaterThan(0.945);
    expect(held / trials).toBeLessThan(0.985);
  });
});
