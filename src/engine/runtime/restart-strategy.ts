/**
 * Whether and when a failed job attempt is restarted (Flink's restart-strategy.type and its
 * parameters). Pure: the executor keeps the history of failures and asks.
 */
export type RestartStrategy =
  | { readonly type: 'none' }
  | { readonly type: 'fixed-delay'; readonly attempts: number; readonly delayMs: number }
  | { readonly type: 'failure-rate'; readonly maxFailuresPerInterval: number; readonly intervalMs: number; readonly delayMs: number }
  | { readonly type: 'exponential-delay'; readonly initialBackoffMs: number; readonly maxBackoffMs: number; readonly multiplier: number; readonly attempts: number };

/** Flink's defaults for each type. */
export const RESTART_DEFAULTS = {
  'fixed-delay': { type: 'fixed-delay', attempts: 1, delayMs: 1000 },
  'failure-rate': { type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 60_000, delayMs: 1000 },
  'exponential-delay': { type: 'exponential-delay', initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 1.5, attempts: Number.POSITIVE_INFINITY },
} as const;

export type RestartDecision = { readonly restart: true; readonly delayMs: number } | { readonly restart: false; readonly reason: string };

/** `failures`: times of all failures so far, the newest last (it is the one being decided). */
export function decideRestart(strategy: RestartStrategy, failures: readonly number[]): RestartDecision {
  const count = failures.length;
  switch (strategy.type) {
    case 'none':
      return { restart: false, reason: 'the restart strategy is none' };
    case 'fixed-delay':
      return count <= strategy.attempts
        ? { restart: true, delayMs: strategy.delayMs }
        : { restart: false, reason: `restart attempts exhausted (fixed-delay, ${strategy.attempts} attempts)` };
    case 'failure-rate': {
      const now = failures.at(-1) ?? 0;
      const recent = failures.filter((t) => t > now - strategy.intervalMs).length;
      return recent <= strategy.maxFailuresPerInterval
        ? { restart: true, delayMs: strategy.delayMs }
        : { restart: false, reason: `more than ${strategy.maxFailuresPerInterval} failures within ${strategy.intervalMs} ms (failure-rate)` };
    }
    case 'exponential-delay': {
      if (count > strategy.attempts) return { restart: false, reason: `restart attempts exhausted (exponential-delay, ${strategy.attempts} attempts)` };
      const delay = Math.min(strategy.maxBackoffMs, strategy.initialBackoffMs * strategy.multiplier ** (count - 1));
      return { restart: true, delayMs: Math.round(delay) };
    }
  }
}
