/**
 * Flink's checkpoint `summary`: min, max and average over every completed checkpoint of the job,
 * and percentiles over the latest ones (Flink keeps a histogram window too). Kept in the job's
 * record as running totals plus a bounded window, so it survives a JobManager restart.
 */

/** How many of the latest values the percentiles are computed from. */
export const SUMMARY_WINDOW = 1000;

export interface RunningStats {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  /** The latest values, oldest first, at most SUMMARY_WINDOW. */
  readonly recent: readonly number[];
}

/** Flink's `StatsSummaryDto`. */
export interface StatsSummary {
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
}

export function addValue(stats: RunningStats | undefined, value: number): RunningStats {
  if (stats === undefined || stats.count === 0) return { count: 1, min: value, max: value, sum: value, recent: [value] };
  return {
    count: stats.count + 1,
    min: Math.min(stats.min, value),
    max: Math.max(stats.max, value),
    sum: stats.sum + value,
    recent: [...stats.recent, value].slice(-SUMMARY_WINDOW),
  };
}

/** All zeros before the first checkpoint, as Flink shows an empty summary. */
export function summarize(stats: RunningStats | undefined): StatsSummary {
  if (stats === undefined || stats.count === 0) return { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
  const sorted = [...stats.recent].sort((a, b) => a - b);
  return {
    min: stats.min,
    max: stats.max,
    // Flink's average is a long.
    avg: Math.floor(stats.sum / stats.count),
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
  };
}

/** Commons Math's default estimate, which Flink's histogram uses: position p(n+1), interpolated. */
export function percentile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const position = p * (n + 1);
  if (position < 1) return sorted[0]!;
  if (position >= n) return sorted[n - 1]!;
  const whole = Math.floor(position);
  const lower = sorted[whole - 1]!;
  const upper = sorted[whole]!;
  return lower + (position - whole) * (upper - lower);
}
