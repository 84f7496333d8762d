/**
 * Small helpers shared by the benchmarks: timing, interleaved repetition, medians and ranges, a
 * forced GC between runs, and plain-text formatting (colour only on a TTY without NO_COLOR).
 * See ../shared/DESIGN.md section 6: compare ratios measured in the same run, interleave the
 * runs being compared, repeat at least 5 times.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Seconds taken by `fn`. */
export async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

let gcFunction: (() => void) | undefined;

/** The process's CPU time (user + system, all threads) in ns. */
export function cpuNs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}

/**
 * A full garbage collection, so one run's garbage is not collected during the next. Uses
 * `global.gc` when node runs with --expose-gc; otherwise turns the flag on at run time and takes
 * `gc` from a fresh context (the flag only affects contexts created after it is set).
 */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') {
      gcFunction = existing;
    } else {
      try {
        setFlagsFromString('--expose-gc');
        gcFunction = runInNewContext('gc') as () => void;
      } catch {
        gcFunction = () => undefined;
      }
    }
  }
  gcFunction();
}

export interface Range {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function range(samples: readonly number[]): Range {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * One measurement of each case per round, rounds repeated `reps` times after `warmup` rounds
 * (not recorded); the case order alternates (ours, baseline, ours, ...) and a GC runs before every
 * run. Each case returns the seconds it measured, so it can keep its own setup out of the timing.
 */
export async function interleave<K extends string>(
  cases: Readonly<Record<K, () => Promise<number>>>,
  options: { readonly reps: number; readonly warmup?: number; readonly progress?: (round: number) => void },
): Promise<Record<K, number[]>> {
  const names = Object.keys(cases) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const warmup = options.warmup ?? 1;
  for (let round = 0; round < warmup + options.reps; round++) {
    for (const name of names) {
      collectGarbage();
      const seconds = await cases[name]();
      if (round >= warmup) out[name].push(seconds);
    }
    options.progress?.(round - warmup);
  }
  return out;
}

/** An interval that holds the median of what was sampled, with the probability it is said to. */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
  /** The probability that such an interval holds the median: at least the level asked for. */
  readonly coverage: number;
}

/**
 * The distribution-free interval for the median of `samples` at `level` or above: order statistics
 * x(k) and x(n+1-k), with the largest k whose coverage, 1 - 2 P(B <= k-1) for B ~ Binomial(n, 1/2),
 * is still at least `level`. It assumes independent samples and nothing about their distribution,
 * which suits rounds whose spread comes from the processes that ran them (issue 13: rounds of the
 * same code differ by up to 30%), where a mean and its standard error would not. Undefined when even
 * [min, max] covers less than `level`: below 6 samples at 95%.
 */
export function medianInterval(samples: readonly number[], level = 0.95): MedianInterval | undefined {
  const n = samples.length;
  const sorted = [...samples].sort((a, b) => a - b);
  // P(B = i) for i = 0.. in log space: 2^-n underflows past n = 1074.
  let logP = -n * Math.LN2;
  let below = 0; // P(B <= k - 1)
  let best: MedianInterval | undefined;
  for (let k = 1; 2 * k <= n + 1; k++) {
    if (k > 1) logP += Math.log((n - k + 2) / (k - 1)); // now log P(B = k - 1)
    below += Math.exp(logP);
    const coverage = 1 - 2 * below;
    if (coverage < level) break;
    best = { low: sorted[k - 1]!, high: sorted[n - k]!, coverage };
  }
  return best;
}

/** Pairwise ratios a[i] / b[i] of two interleaved sample lists. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

const useColour = process.stdout.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');

export function green(s: string): string {
  return useColour ? `\x1b[32m${s}\x1b[39m` : s;
}

export function red(s: string): string {
  return useColour ? `\x1b[31m${s}\x1b[39m` : s;
}

export function bold(s: string): string {
  return useColour ? `\x1b[1m${s}\x1b[22m` : s;
}

/** 3 significant digits for small numbers, whole numbers above 100: 0.512, 12.3, 180. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toString();
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** 2.1M, 350k, 999. */
export function count(x: number): string {
  const scaled = (unit: number, suffix: string): string =>
    `${Number.isInteger(x / unit) ? String(x / unit) : num(x / unit)}${suffix}`;
  if (x >= 1e6) return scaled(1e6, 'M');
  if (x >= 1e3) return scaled(1e3, 'k');
  return num(x);
}

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${num(n / (1024 * 1024))} MiB`;
  if (n >= 1024) return `${num(n / 1024)} KiB`;
  return `${n} B`;
}

export function duration(seconds: number): string {
  if (seconds >= 1) return `${num(seconds)} s`;
  if (seconds >= 1e-3) return `${num(seconds * 1e3)} ms`;
  return `${num(seconds * 1e6)} µs`;
}

/** Megabytes (10^6 bytes) per second, as disks are rated. */
export function mbPerSecond(byteCount: number, seconds: number): string {
  return `${num(byteCount / 1e6 / seconds)} MB/s`;
}

/** Left-aligns each column of `rows` to its widest cell, two spaces between columns. */
export function table(rows: readonly (readonly string[])[]): string {
  // Colour codes take no room on screen: measure without them.
  // eslint-disable-next-line no-control-regex
  const visible = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell)))).join('  '))
    .join('\n');
}
