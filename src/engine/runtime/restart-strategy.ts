/**
 * Whether and when a failed job attempt is restarted (Flink's restart-strategy.type and its
 * parameters). Pure: the executor keeps the history of failures and asks.
 */
import type { Config } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { DURATION_SYNTAX, parseFlinkDuration } from '../checkpoint/flink-duration.ts';

export type RestartStrategy =
  | { readonly type: 'none' }
  | { readonly type: 'fixed-delay'; readonly attempts: number; readonly delayMs: number }
  | { readonly type: 'failure-rate'; readonly maxFailuresPerInterval: number; readonly intervalMs: number; readonly delayMs: number }
  | {
      readonly type: 'exponential-delay';
      readonly initialBackoffMs: number;
      readonly maxBackoffMs: number;
      readonly multiplier: number;
      /** Restarts allowed since the wait was last reset. */
      readonly attempts: number;
      /** A failure this long (plus the current wait) after the previous one resets the wait and the attempts. */
      readonly resetBackoffThresholdMs: number;
      /** Each wait moves by a random whole number of ms within this share of it, either way. */
      readonly jitterFactor: number;
    };

/** Flink's defaults for each type. */
export const RESTART_DEFAULTS = {
  'fixed-delay': { type: 'fixed-delay', attempts: 1, delayMs: 1000 },
  'failure-rate': { type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 60_000, delayMs: 1000 },
  'exponential-delay': {
    type: 'exponential-delay',
    initialBackoffMs: 1000,
    maxBackoffMs: 60_000,
    multiplier: 1.5,
    attempts: Number.POSITIVE_INFINITY,
    resetBackoffThresholdMs: 3_600_000,
    jitterFactor: 0.1,
  },
} as const;

export type RestartDecision = { readonly restart: true; readonly delayMs: number } | { readonly restart: false; readonly reason: string };

/**
 * `failures`: times of all failures so far, the newest last (it is the one being decided).
 * `random`: uniform in [0, 1), for exponential-delay's jitter.
 */
export function decideRestart(strategy: RestartStrategy, failures: readonly number[], random: () => number = Math.random): RestartDecision {
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
      const { backoffMs, attempt } = exponentialBackoff(strategy, failures);
      if (attempt > strategy.attempts) return { restart: false, reason: `restart attempts exhausted (exponential-delay, ${strategy.attempts} attempts)` };
      // As Flink's ExponentialDelayRestartBackoffTimeStrategy: a whole number of ms in
      // [-offset, offset] keeps restarts of many jobs from arriving together.
      const offset = Math.floor(backoffMs * strategy.jitterFactor);
      const jitter = offset <= 0 ? 0 : Math.floor(random() * (2 * offset + 1)) - offset;
      return { restart: true, delayMs: Math.min(backoffMs + jitter, strategy.maxBackoffMs) };
    }
  }
}

/**
 * Flink's backoff replayed over the failure history: a failure at least the threshold plus the
 * current wait after the previous one starts again from the initial wait and attempt 1; any
 * other multiplies the wait (up to the maximum) and counts one more attempt.
 */
function exponentialBackoff(
  strategy: Extract<RestartStrategy, { type: 'exponential-delay' }>,
  failures: readonly number[],
): { backoffMs: number; attempt: number } {
  let backoffMs = strategy.initialBackoffMs;
  let attempt = 0;
  let previous = Number.NEGATIVE_INFINITY;
  for (const at of failures) {
    if (at - previous >= strategy.resetBackoffThresholdMs + backoffMs) {
      backoffMs = strategy.initialBackoffMs;
      attempt = 1;
    } else {
      if (backoffMs < strategy.maxBackoffMs) backoffMs = Math.floor(backoffMs * strategy.multiplier);
      backoffMs = Math.max(strategy.initialBackoffMs, Math.min(backoffMs, strategy.maxBackoffMs));
      attempt += 1;
    }
    previous = at;
  }
  return { backoffMs, attempt };
}

/**
 * The names `restart-strategy.type` accepts (Flink's `RestartBackoffTimeStrategyFactoryLoader`
 * lower-cases the value first, so case does not matter), and the strategy each stands for.
 */
export const RESTART_STRATEGY_NAMES: ReadonlyMap<string, RestartStrategy['type']> = new Map([
  ['none', 'none'],
  ['off', 'none'],
  ['disable', 'none'],
  ['fixed-delay', 'fixed-delay'],
  ['fixeddelay', 'fixed-delay'],
  ['failure-rate', 'failure-rate'],
  ['failurerate', 'failure-rate'],
  ['exponential-delay', 'exponential-delay'],
  ['exponentialdelay', 'exponential-delay'],
]);

export const RESTART_STRATEGY_TYPE_KEY = 'restart-strategy.type';
/** Older names Flink still reads for `restart-strategy.type`; the current name wins when both are set. */
export const RESTART_STRATEGY_TYPE_DEPRECATED_KEYS: readonly string[] = ['restart-strategy'];

/** Java's Integer.MAX_VALUE, where Flink's integer options end. */
const MAX_INT = 2_147_483_647;

/** One parameter key: its Flink default as written in a config file, and how its value is read. */
export interface RestartParameter {
  readonly key: string;
  readonly default: string;
  readonly allowed: string;
  readonly description: string;
  /** Throws UserError naming the key, the value and the allowed range. */
  readonly parse: (value: string) => number;
}

/**
 * Flink 2's `RestartStrategyOptions` for each type, with the checks its restart backoff
 * strategies make when they are created.
 */
export const RESTART_PARAMETERS = {
  fixedDelayAttempts: integer('fixed-delay.attempts', '1', 0, 'restarts before the job fails (fixed-delay)'),
  fixedDelayDelay: duration('fixed-delay.delay', '1 s', 0, 'wait before each restart (fixed-delay)'),
  failureRateMaxFailures: integer('failure-rate.max-failures-per-interval', '1', 1, 'restarts allowed within one interval before the job fails (failure-rate)'),
  failureRateInterval: duration('failure-rate.failure-rate-interval', '1 min', 1, 'the interval failures are counted in (failure-rate)'),
  failureRateDelay: duration('failure-rate.delay', '1 s', 0, 'wait before each restart (failure-rate)'),
  initialBackoff: duration('exponential-delay.initial-backoff', '1 s', 1, 'wait before the first restart (exponential-delay)'),
  maxBackoff: duration('exponential-delay.max-backoff', '1 min', 1, 'the longest wait between restarts (exponential-delay)'),
  multiplier: decimal('exponential-delay.backoff-multiplier', '1.5', 1, Number.POSITIVE_INFINITY, 'the wait grows by this factor after each failure (exponential-delay)', true),
  resetBackoffThreshold: duration('exponential-delay.reset-backoff-threshold', '1 h', 1, 'running this long without failure resets the wait and the attempts (exponential-delay)'),
  jitterFactor: decimal('exponential-delay.jitter-factor', '0.1', 0, 1, 'random share added to or taken from each wait (exponential-delay)'),
  attemptsBeforeResetBackoff: integer('exponential-delay.attempts-before-reset-backoff', `${MAX_INT} (no limit)`, 1, 'restarts before the job fails (exponential-delay)'),
} as const satisfies Record<string, RestartParameter>;

/**
 * The strategy `restart-strategy.type` and its parameters ask for; undefined when the type is
 * not set, so that the job's own strategy or the engine's default applies.
 */
export function restartStrategyFromKeys(config: Config): RestartStrategy | undefined {
  const typeKey = [RESTART_STRATEGY_TYPE_KEY, ...RESTART_STRATEGY_TYPE_DEPRECATED_KEYS].find((key) => config.get(key) !== undefined);
  if (typeKey === undefined) return undefined;
  const type = parseRestartStrategyType(config.get(typeKey)!, typeKey);
  const read = (parameter: RestartParameter, fallback: number): number => {
    const value = config.get(parameter.key);
    return value === undefined ? fallback : parameter.parse(value);
  };
  const p = RESTART_PARAMETERS;
  switch (type) {
    case 'none':
      return { type: 'none' };
    case 'fixed-delay': {
      const d = RESTART_DEFAULTS['fixed-delay'];
      return { type, attempts: read(p.fixedDelayAttempts, d.attempts), delayMs: read(p.fixedDelayDelay, d.delayMs) };
    }
    case 'failure-rate': {
      const d = RESTART_DEFAULTS['failure-rate'];
      return {
        type,
        maxFailuresPerInterval: read(p.failureRateMaxFailures, d.maxFailuresPerInterval),
        intervalMs: read(p.failureRateInterval, d.intervalMs),
        delayMs: read(p.failureRateDelay, d.delayMs),
      };
    }
    case 'exponential-delay': {
      const d = RESTART_DEFAULTS['exponential-delay'];
      const initialBackoffMs = read(p.initialBackoff, d.initialBackoffMs);
      const maxBackoffMs = read(p.maxBackoff, d.maxBackoffMs);
      if (initialBackoffMs > maxBackoffMs) {
        throw new UserError(`${p.initialBackoff.key} (${initialBackoffMs} ms) is more than ${p.maxBackoff.key} (${maxBackoffMs} ms): the first wait cannot be longer than the longest`, 1);
      }
      return {
        type,
        initialBackoffMs,
        maxBackoffMs,
        multiplier: read(p.multiplier, d.multiplier),
        attempts: read(p.attemptsBeforeResetBackoff, d.attempts),
        resetBackoffThresholdMs: read(p.resetBackoffThreshold, d.resetBackoffThresholdMs),
        jitterFactor: read(p.jitterFactor, d.jitterFactor),
      };
    }
  }
}

/** `key`: the name the value was set under, for the error message. */
export function parseRestartStrategyType(text: string, key: string = RESTART_STRATEGY_TYPE_KEY): RestartStrategy['type'] {
  const type = RESTART_STRATEGY_NAMES.get(text.trim().toLowerCase());
  if (type === undefined) {
    throw new UserError(`${key}: '${text}' is not one of ${[...RESTART_STRATEGY_NAMES.keys()].join(', ')}`, 1);
  }
  return type;
}

function integer(name: string, fallback: string, min: number, description: string): RestartParameter {
  const key = `restart-strategy.${name}`;
  return {
    key,
    default: fallback,
    allowed: `a whole number from ${min} to ${MAX_INT}`,
    description,
    parse: (value) => {
      const text = value.trim();
      if (!/^[+-]?\d+$/u.test(text)) throw new UserError(`${key}: '${value}' is not a whole number`, 1);
      return inRange(key, value, Number(text), min, MAX_INT, '');
    },
  };
}

function duration(name: string, fallback: string, min: number, description: string): RestartParameter {
  const key = `restart-strategy.${name}`;
  return {
    key,
    default: fallback,
    allowed: `a duration of at least ${min} ms`,
    description,
    parse: (value) => {
      const ms = parseFlinkDuration(value);
      if (ms === undefined) throw new UserError(`${key}: '${value}' is not a duration: write ${DURATION_SYNTAX}`, 1);
      return inRange(key, value, ms, min, Number.MAX_SAFE_INTEGER, ' ms');
    },
  };
}

/** `aboveMin`: the minimum itself is refused, as Flink's check that a multiplier is greater than 1. */
function decimal(name: string, fallback: string, min: number, max: number, description: string, aboveMin = false): RestartParameter {
  const key = `restart-strategy.${name}`;
  return {
    key,
    default: fallback,
    allowed: aboveMin ? `a number greater than ${min}` : max === Number.POSITIVE_INFINITY ? `a number of at least ${min}` : `a number from ${min} to ${max}`,
    description,
    parse: (value) => {
      const text = value.trim();
      // Java's Double.parseDouble, less NaN and Infinity, which no setting here can mean.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/iu.test(text)) throw new UserError(`${key}: '${value}' is not a number`, 1);
      const n = Number(text);
      if (aboveMin && n <= min) throw new UserError(`${key}: '${value}' is out of range: allowed is greater than ${min}`, 1);
      return inRange(key, value, n, min, max, '');
    },
  };
}

function inRange(key: string, shown: string, value: number, min: number, max: number, unit: string): number {
  if (value < min || value > max) {
    const range = max >= Number.MAX_SAFE_INTEGER ? `at least ${min}${unit}` : `from ${min}${unit} to ${max}${unit}`;
    throw new UserError(`${key}: '${shown}' is out of range: allowed is ${range}`, 1);
  }
  return value;
}
