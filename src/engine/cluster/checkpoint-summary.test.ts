import { describe, expect, it } from 'vitest';
import { SUMMARY_WINDOW, addValue, percentile, summarize } from './checkpoint-summary.ts';

describe('checkpoint summary', () => {
  it('is all zeros before the first checkpoint', () => {
    expect(summarize(undefined)).toEqual({ min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 });
  });

  it('gives min, max, a whole average and interpolated percentiles', () => {
    let stats;
    for (const v of [40, 10, 30, 20]) stats = addValue(stats, v);
    // Positions p(n+1) over [10, 20, 30, 40]: 2.5 -> 25, 4.5 -> past the end -> 40.
    expect(summarize(stats)).toEqual({ min: 10, max: 40, avg: 25, p50: 25, p90: 40, p95: 40, p99: 40, p999: 40 });
    expect(summarize(addValue(undefined, 7))).toEqual({ min: 7, max: 7, avg: 7, p50: 7, p90: 7, p95: 7, p99: 7, p999: 7 });
  });

  it('keeps min, max and average over all values, percentiles over the latest window', () => {
    let stats = addValue(undefined, 1_000_000);
    for (let i = 0; i < SUMMARY_WINDOW; i++) stats = addValue(stats, 1);
    expect(stats.recent).toHaveLength(SUMMARY_WINDOW);
    expect(summarize(stats)).toMatchObject({ min: 1, max: 1_000_000, avg: Math.floor((1_000_000 + SUMMARY_WINDOW) / (SUMMARY_WINDOW + 1)), p50: 1, p999: 1 });
  });

  it('percentile: below the first position is the minimum', () => {
    expect(percentile([1, 2, 3], 0.1)).toBe(1);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.9);
  });
});
