import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../errors.ts';
import { CompletedOperationCache, DEFAULT_ASYNC_STORE_DURATION_MS, asyncStoreDurationMs, parseAsyncStoreDuration } from './completed-operation-cache.ts';

/** A cache on a clock the test moves. */
function cache(storeMs: number): { c: CompletedOperationCache<{ n: number }, string>; advance: (ms: number) => void } {
  let now = 1_000_000;
  return { c: new CompletedOperationCache(storeMs, () => now), advance: (ms) => void (now += ms) };
}

describe('CompletedOperationCache', () => {
  it('keeps a result for the store duration after it completed, then forgets the key', () => {
    const { c, advance } = cache(300_000);
    c.start('a', { n: 1 });
    c.complete('a', 'done');
    advance(299_999);
    expect(c.get('a')).toEqual({ status: 'COMPLETED', value: 'done' });
    advance(1);
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps an operation in progress however long it takes, and counts its duration from completion', () => {
    const { c, advance } = cache(1000);
    c.start('a', { n: 1 });
    advance(10 * 86_400_000);
    expect(c.get('a')).toEqual({ status: 'IN_PROGRESS', value: { n: 1 } });
    c.complete('a', 'late');
    advance(999);
    expect(c.get('a')).toEqual({ status: 'COMPLETED', value: 'late' });
  });

  it('reading a result does not extend it (Flink expires after write, not after access)', () => {
    const { c, advance } = cache(1000);
    c.complete('a', 'r');
    for (let i = 0; i < 9; i++) {
      advance(100);
      expect(c.get('a')?.status).toBe('COMPLETED');
    }
    advance(100);
    expect(c.get('a')).toBeUndefined();
  });

  it('under one whole second keeps results for ever, as Flink sets no expiry when the seconds are 0', () => {
    for (const ms of [0, 1, 999]) {
      const { c, advance } = cache(ms);
      c.complete('a', 'r');
      advance(365 * 86_400_000);
      expect(c.get('a')).toEqual({ status: 'COMPLETED', value: 'r' });
    }
    // 1.5 s: the whole duration counts, not its seconds.
    const { c, advance } = cache(1500);
    c.complete('a', 'r');
    advance(1499);
    expect(c.get('a')).toBeDefined();
    advance(1);
    expect(c.get('a')).toBeUndefined();
  });

  it('never holds more than the operations in progress and those completed within the duration', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 5000 }),
        fc.array(fc.tuple(fc.constantFrom('start', 'complete', 'get'), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 200 }),
        (storeMs, steps) => {
          const { c, advance } = cache(storeMs);
          // The model: when each key completed, and which are running.
          let now = 0;
          const running = new Set<string>();
          const completedAt = new Map<string, number>();
          for (const [op, k, wait] of steps) {
            advance(wait);
            now += wait;
            const key = String(k);
            if (op === 'start') {
              c.start(key, { n: k });
              running.add(key);
              completedAt.delete(key);
            } else if (op === 'complete') {
              c.complete(key, `r${k}`);
              running.delete(key);
              completedAt.delete(key);
              completedAt.set(key, now);
            }
            const alive = (at: number): boolean => now - at < storeMs;
            const got = c.get(key);
            if (running.has(key)) expect(got?.status).toBe('IN_PROGRESS');
            else if (completedAt.has(key) && alive(completedAt.get(key)!)) expect(got).toEqual({ status: 'COMPLETED', value: `r${k}` });
            else expect(got).toBeUndefined();
            const expected = new Set([...running, ...[...completedAt].filter(([, at]) => alive(at)).map(([key]) => key)]);
            expect(c.size).toBe(expected.size);
          }
        },
      ),
    );
  });
});

describe('rest.async.store-duration', () => {
  it("defaults to Flink's 5 min and reads Flink's duration syntax", () => {
    expect(asyncStoreDurationMs({})).toBe(DEFAULT_ASYNC_STORE_DURATION_MS);
    expect(DEFAULT_ASYNC_STORE_DURATION_MS).toBe(300_000);
    expect(asyncStoreDurationMs({ 'rest.async.store-duration': '10 min' })).toBe(600_000);
    expect(asyncStoreDurationMs({ 'rest.async.store-duration': '2000' })).toBe(2000);
  });

  it('refuses what is not a duration in one line naming the key (exit 1)', () => {
    const refused = (): number => parseAsyncStoreDuration('rest.async.store-duration', 'five minutes');
    expect(refused).toThrow(UserError);
    expect(refused).toThrow("rest.async.store-duration: 'five minutes' is not a duration: write a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h");
    try {
      refused();
    } catch (err) {
      expect((err as UserError).exitCode).toBe(1);
    }
  });
});
