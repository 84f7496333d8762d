import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { decideRestart, RESTART_DEFAULTS, type RestartStrategy, restartStrategyFromKeys } from './restart-strategy.ts';

const from = (entries: Record<string, string>): RestartStrategy | undefined => restartStrategyFromKeys(new Map(Object.entries(entries)));

describe('restartStrategyFromKeys', () => {
  it('is undefined without restart-strategy.type, even when parameters are set', () => {
    expect(from({})).toBeUndefined();
    expect(from({ 'restart-strategy.fixed-delay.attempts': '5' })).toBeUndefined();
  });

  it.each(['none', 'off', 'disable', 'NONE', ' Off '])('reads %j as none', (type) => {
    expect(from({ 'restart-strategy.type': type })).toEqual({ type: 'none' });
  });

  it.each(['fixed-delay', 'fixeddelay', 'Fixed-Delay'])('reads %j as fixed-delay with Flink defaults', (type) => {
    expect(from({ 'restart-strategy.type': type })).toEqual({ type: 'fixed-delay', attempts: 1, delayMs: 1000 });
    expect(from({ 'restart-strategy.type': type })).toEqual(RESTART_DEFAULTS['fixed-delay']);
  });

  it('reads fixed-delay parameters', () => {
    expect(from({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '0', 'restart-strategy.fixed-delay.delay': '10 s' })).toEqual({
      type: 'fixed-delay',
      attempts: 0,
      delayMs: 10_000,
    });
  });

  it.each(['failure-rate', 'failurerate'])('reads %j as failure-rate with Flink defaults', (type) => {
    expect(from({ 'restart-strategy.type': type })).toEqual({ type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 60_000, delayMs: 1000 });
  });

  it('reads failure-rate parameters', () => {
    const keys = {
      'restart-strategy.type': 'failure-rate',
      'restart-strategy.failure-rate.max-failures-per-interval': '3',
      'restart-strategy.failure-rate.failure-rate-interval': '5 min',
      'restart-strategy.failure-rate.delay': '0',
    };
    expect(from(keys)).toEqual({ type: 'failure-rate', maxFailuresPerInterval: 3, intervalMs: 300_000, delayMs: 0 });
  });

  it.each(['exponential-delay', 'exponentialdelay'])('reads %j as exponential-delay with Flink defaults', (type) => {
    expect(from({ 'restart-strategy.type': type })).toEqual({
      type: 'exponential-delay',
      initialBackoffMs: 1000,
      maxBackoffMs: 60_000,
      multiplier: 1.5,
      attempts: Number.POSITIVE_INFINITY,
      resetBackoffThresholdMs: 3_600_000,
      jitterFactor: 0.1,
    });
  });

  it('reads exponential-delay parameters', () => {
    const keys = {
      'restart-strategy.type': 'exponential-delay',
      'restart-strategy.exponential-delay.initial-backoff': '100 ms',
      'restart-strategy.exponential-delay.max-backoff': '2 min',
      'restart-strategy.exponential-delay.backoff-multiplier': '2',
      'restart-strategy.exponential-delay.attempts-before-reset-backoff': '7',
      'restart-strategy.exponential-delay.reset-backoff-threshold': '1 h',
      'restart-strategy.exponential-delay.jitter-factor': '0.25',
    };
    expect(from(keys)).toEqual({
      type: 'exponential-delay',
      initialBackoffMs: 100,
      maxBackoffMs: 120_000,
      multiplier: 2,
      attempts: 7,
      resetBackoffThresholdMs: 3_600_000,
      jitterFactor: 0.25,
    });
    expect(() => from({ ...keys, 'restart-strategy.exponential-delay.jitter-factor': '-0.1' })).toThrow(
      "restart-strategy.exponential-delay.jitter-factor: '-0.1' is out of range: allowed is from 0 to 1",
    );
  });

  it('refuses a first wait longer than the longest, as Flink does when it creates the strategy', () => {
    expect(() => from({ 'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.initial-backoff': '2 min' })).toThrow(
      'restart-strategy.exponential-delay.initial-backoff (120000 ms) is more than restart-strategy.exponential-delay.max-backoff (60000 ms): the first wait cannot be longer than the longest',
    );
  });

  it("reads Flink's older name restart-strategy when restart-strategy.type is unset, naming it when its value is bad", () => {
    expect(from({ 'restart-strategy': 'none' })).toEqual({ type: 'none' });
    expect(from({ 'restart-strategy': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '3' })).toEqual({ type: 'fixed-delay', attempts: 3, delayMs: 1000 });
    expect(from({ 'restart-strategy': 'none', 'restart-strategy.type': 'fixed-delay' })).toEqual(RESTART_DEFAULTS['fixed-delay']);
    expect(() => from({ 'restart-strategy': 'sometimes' })).toThrow(/^restart-strategy: 'sometimes' is not one of none, /);
  });

  it('ignores the parameters of other types', () => {
    expect(from({ 'restart-strategy.type': 'none', 'restart-strategy.fixed-delay.attempts': 'many' })).toEqual({ type: 'none' });
  });

  it('refuses an unknown type with exit code 1, listing the names Flink accepts', () => {
    let error: unknown;
    try {
      from({ 'restart-strategy.type': 'fixed_delay' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(1);
    expect((error as UserError).message).toBe(
      "restart-strategy.type: 'fixed_delay' is not one of none, off, disable, fixed-delay, fixeddelay, failure-rate, failurerate, exponential-delay, exponentialdelay",
    );
  });
});

describe('decideRestart for exponential-delay', () => {
  const strategy = (over: Partial<Extract<RestartStrategy, { type: 'exponential-delay' }>> = {}): RestartStrategy => ({
    ...RESTART_DEFAULTS['exponential-delay'],
    jitterFactor: 0,
    ...over,
  });
  const delays = (s: RestartStrategy, times: readonly number[], random?: () => number): (number | string)[] =>
    times.map((_, i) => {
      const d = decideRestart(s, times.slice(0, i + 1), random);
      return d.restart ? d.delayMs : d.reason;
    });

  it('multiplies the wait after each close failure, up to the maximum', () => {
    const s = strategy({ initialBackoffMs: 1000, maxBackoffMs: 5000, multiplier: 2 });
    expect(delays(s, [0, 10, 20, 30, 40])).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('starts again from the initial wait, and the first attempt, after a failure-free threshold plus the current wait', () => {
    const s = strategy({ initialBackoffMs: 100, maxBackoffMs: 10_000, multiplier: 2, resetBackoffThresholdMs: 1000, attempts: 3 });
    // The third failure comes 1400 ms after the second, at least 1000 + the current 200: reset.
    expect(delays(s, [0, 10, 1410, 1420])).toEqual([100, 200, 100, 200]);
    // 1 ms short of threshold plus the current wait (200): no reset, so attempt 3, then 4 is refused.
    expect(delays(s, [0, 10, 1209, 1220])).toEqual([100, 200, 400, 'restart attempts exhausted (exponential-delay, 3 attempts)']);
  });

  it('moves each wait by a whole number of ms within the jitter factor, either way', () => {
    const s = strategy({ initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, jitterFactor: 0.25 });
    expect(delays(s, [0], () => 0)).toEqual([750]);
    expect(delays(s, [0], () => 0.999_999)).toEqual([1250]);
    expect(delays(s, [0, 1], () => 0.5)).toEqual([1000, 2000]);
  });

  it('never waits longer than the maximum, jitter included', () => {
    const s = strategy({ initialBackoffMs: 1000, maxBackoffMs: 1000, multiplier: 2, jitterFactor: 1 });
    expect(delays(s, [0, 1, 2], () => 0.999_999)).toEqual([1000, 1000, 1000]);
    expect(delays(s, [0], () => 0)).toEqual([0]);
  });
});
