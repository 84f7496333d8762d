import { describe, expect, it } from 'vitest';
import type { AsyncFunction, ResultFuture } from '../api/async-function.ts';
import { type AsyncRetryStrategy, AsyncRetryStrategies, RetryPredicates } from '../api/async-retry.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import { OperatorStateStore } from '../state/operator-state-store.ts';
import { ASYNC_STATE_NAME, type AsyncOutputMode, AsyncWaitOperator } from './async-wait-operator.ts';
import { Mailbox } from './mailbox.ts';
import { ManualProcessingTime } from './manual-processing-time.ts';
import type { Output } from './stream-operator.ts';

type Emitted = ['record', unknown, number | null] | ['watermark', number];

/** An async function whose requests the test answers: `pending.get(input)` is the request's future. */
function controlled(extra: Partial<AsyncFunction<string, string>> = {}) {
  const pending = new Map<string, ResultFuture<string>>();
  const invoked: string[] = [];
  const fn: AsyncFunction<string, string> = {
    asyncInvoke(input, future) {
      invoked.push(input);
      pending.set(input, future);
    },
    ...extra,
  };
  return { fn, pending, invoked, answer: (input: string) => pending.get(input)!.complete([`${input}!`]) };
}

async function open(fn: AsyncFunction<string, string>, mode: AsyncOutputMode, options: { capacity?: number; timeout?: number; store?: OperatorStateStore; restored?: boolean; retry?: AsyncRetryStrategy<string> } = {}) {
  const emitted: Emitted[] = [];
  const output: Output = { collect: (v, t) => void emitted.push(['record', v, t]), emitWatermark: (t) => void emitted.push(['watermark', t]) };
  const clock = new ManualProcessingTime(1000);
  const mailbox = new Mailbox();
  const store = options.store ?? new OperatorStateStore();
  const operator = new AsyncWaitOperator(fn as AsyncFunction<unknown, unknown>, options.timeout ?? 0, options.capacity ?? 100, mode, options.retry as AsyncRetryStrategy<unknown> | undefined);
  const context = { operatorUid: 'lookup', operatorState: store, getState: () => 'a keyed state' } as unknown as RuntimeContext;
  await operator.open({ context, output, isRestored: options.restored ?? false, processingTime: clock, mailbox });
  return { operator, emitted, clock, mailbox, store };
}

describe('AsyncWaitOperator', () => {
  it('ordered: emits in input order with each input’s timestamp, whatever order the requests complete in', async () => {
    const f = controlled();
    const { operator, emitted, mailbox } = await open(f.fn, 'ORDERED');
    operator.processRecord('a', 1);
    operator.processRecord('b', 2);
    operator.processWatermark(5);
    operator.processRecord('c', 6);
    f.answer('c');
    f.answer('b');
    await mailbox.runAll();
    expect(emitted).toEqual([]);
    f.answer('a');
    expect(emitted).toEqual([]); // never from the completing callback: only through the mailbox
    await mailbox.runAll();
    expect(emitted).toEqual([
      ['record', 'a!', 1],
      ['record', 'b!', 2],
      ['watermark', 5],
      ['record', 'c!', 6],
    ]);
    expect(operator.inFlight()).toBe(0);
  });

  it('unordered: emits as requests complete but never moves a result across a watermark', async () => {
    const f = controlled();
    const { operator, emitted, mailbox } = await open(f.fn, 'UNORDERED');
    operator.processRecord('a', 1);
    operator.processRecord('b', 2);
    operator.processWatermark(10);
    operator.processRecord('c', 11);
    operator.processRecord('d', 12);
    f.answer('d');
    await mailbox.runAll();
    expect(emitted).toEqual([]); // d is behind the watermark, which waits for a and b
    f.answer('b');
    await mailbox.runAll();
    expect(emitted).toEqual([['record', 'b!', 2]]);
    f.answer('a');
    await mailbox.runAll();
    expect(emitted).toEqual([
      ['record', 'b!', 2],
      ['record', 'a!', 1],
      ['watermark', 10],
      ['record', 'd!', 12],
    ]);
    f.answer('c');
    await mailbox.runAll();
    expect(emitted.at(-1)).toEqual(['record', 'c!', 11]);
  });

  it('a watermark with nothing before it goes at once', async () => {
    const f = controlled();
    const { operator, emitted } = await open(f.fn, 'UNORDERED');
    operator.processWatermark(3);
    expect(emitted).toEqual([['watermark', 3]]);
  });

  it('takes in at most `capacity` elements: then unavailable, later ones held and not invoked until room is made', async () => {
    const f = controlled();
    const { operator, emitted, mailbox } = await open(f.fn, 'UNORDERED', { capacity: 2 });
    operator.processRecord('a', null);
    expect(operator.isAvailable()).toBe(true);
    operator.processRecord('b', null);
    expect(operator.isAvailable()).toBe(false);
    operator.processRecord('c', null); // a chained flatMap's fan-out may still arrive
    expect(f.invoked).toEqual(['a', 'b']);
    f.answer('b');
    await mailbox.runAll();
    expect(emitted).toEqual([['record', 'b!', null]]);
    expect(f.invoked).toEqual(['a', 'b', 'c']);
    expect(operator.isAvailable()).toBe(false);
    f.answer('a');
    await mailbox.runAll();
    expect(operator.isAvailable()).toBe(true);
    expect(operator.inFlight()).toBe(1);
  });

  it('fails the job with Flink’s TimeoutException when a request outlives the timeout', async () => {
    const f = controlled();
    const { operator, clock, mailbox } = await open(f.fn, 'ORDERED', { timeout: 100 });
    operator.processRecord('slow', 7);
    await clock.advanceTo(1099);
    expect(mailbox.hasMail).toBe(false);
    await clock.advanceTo(1100);
    await expect(mailbox.runAll()).rejects.toThrow("async wait operator 'lookup': could not complete the stream element Record @ 7 : \"slow\": Async function call has timed out.");
  });

  it('a timeout() of the function may complete with a fallback; a late answer is then ignored', async () => {
    const f = controlled({ timeout: (input, future) => future.complete([`${input}?`]) });
    const { operator, emitted, clock, mailbox } = await open(f.fn, 'ORDERED', { timeout: 100 });
    operator.processRecord('slow', null);
    operator.processRecord('fast', null);
    f.answer('fast');
    await clock.advanceTo(1100); // only 'slow' is still out
    f.answer('slow');
    await mailbox.runAll();
    expect(emitted).toEqual([
      ['record', 'slow?', null],
      ['record', 'fast!', null],
    ]);
  });

  it('times each request out on its own deadline, oldest first', async () => {
    const timedOut: string[] = [];
    const f = controlled({ timeout: (input, future) => (timedOut.push(input), future.complete([])) });
    const { operator, clock } = await open(f.fn, 'UNORDERED', { timeout: 100 });
    operator.processRecord('a', null);
    clock.time = 1050;
    operator.processRecord('b', null);
    operator.processRecord('c', null);
    f.answer('b');
    await clock.advanceTo(1100);
    expect(timedOut).toEqual(['a']);
    await clock.advanceTo(1149);
    expect(timedOut).toEqual(['a']);
    await clock.advanceTo(1150);
    expect(timedOut).toEqual(['a', 'c']);
    expect(clock.pending).toBe(0);
  });

  it('completing twice is ignored; a failed request fails the job naming the record', async () => {
    const f = controlled();
    const { operator, emitted, mailbox } = await open(f.fn, 'UNORDERED');
    operator.processRecord('a', null);
    f.answer('a');
    f.pending.get('a')!.complete(['again']);
    f.pending.get('a')!.completeExceptionally(new Error('too late'));
    await mailbox.runAll();
    expect(emitted).toEqual([['record', 'a!', null]]);
    operator.processRecord('b', 3);
    f.pending.get('b')!.completeExceptionally(new Error('connection refused'));
    await expect(mailbox.runAll()).rejects.toThrow("async wait operator 'lookup': could not complete the stream element Record @ 3 : \"b\": connection refused");
  });

  it('takes a promise of results as the answer, and its rejection as a failure', async () => {
    const fn: AsyncFunction<string, string> = {
      asyncInvoke: async (input) => {
        if (input === 'bad') throw new Error('no such user');
        return [input, input.toUpperCase()];
      },
    };
    const { operator, emitted, mailbox } = await open(fn, 'ORDERED');
    operator.processRecord('x', 1);
    await new Promise((r) => setImmediate(r));
    await mailbox.runAll();
    expect(emitted).toEqual([
      ['record', 'x', 1],
      ['record', 'X', 1],
    ]);
    operator.processRecord('bad', 2);
    await new Promise((r) => setImmediate(r));
    await expect(mailbox.runAll()).rejects.toThrow(/"bad": no such user$/);
  });

  it('emits a restored watermark with nothing before it without waiting for a record', async () => {
    const store = new OperatorStateStore();
    store.getListState(ASYNC_STATE_NAME).update([{ kind: 'watermark', timestamp: 9 }]);
    const { emitted, mailbox, operator } = await open(controlled().fn, 'UNORDERED', { store, restored: true });
    await mailbox.runAll();
    expect(emitted).toEqual([['watermark', 9]]);
    expect(operator.inFlight()).toBe(0);
  });

  it('refuses keyed state to the function, as Flink’s RichAsyncFunction does', async () => {
    let error: unknown;
    const fn: AsyncFunction<string, string> = {
      open(ctx) {
        try {
          ctx.getState({ kind: 'value', name: 'seen' });
        } catch (err) {
          error = err;
        }
      },
      asyncInvoke: () => undefined,
    };
    await open(fn, 'ORDERED');
    expect(String(error)).toBe("UserError: async wait operator 'lookup': State is not supported in rich async functions. (keyed state belongs to the record being processed, and an async result comes back later)");
  });

  it('refuses in one line an asyncInvoke that returns neither a promise nor nothing (a factory with a parameter passed as the function)', async () => {
    const factory = ((_input: string) => ({ asyncInvoke: () => undefined })) as unknown as AsyncFunction<string, string>['asyncInvoke'];
    const { operator } = await open({ asyncInvoke: factory }, 'ORDERED');
    expect(() => operator.processRecord('a', null)).toThrow(
      "async wait operator 'lookup': asyncInvoke returned an object: complete the ResultFuture or return a promise of the results (a factory of AsyncFunctions takes no parameters)",
    );
  });

  it('snapshots every element not yet emitted, in input order, and invokes them again after a restore', async () => {
    const f = controlled();
    const { operator, mailbox, store } = await open(f.fn, 'ORDERED', { capacity: 3 });
    operator.processRecord('a', 1); // emitted before the barrier
    f.answer('a');
    await mailbox.runAll();
    operator.processRecord('b', 2); // in flight
    operator.processWatermark(2);
    operator.processRecord('c', 3); // completed, waiting behind b
    operator.processRecord('d', 4); // held: the queue is full
    f.answer('c');
    await mailbox.runAll();
    await operator.snapshotState(1);
    const snapshot = store.snapshot();
    expect(snapshot.states.map((s) => s.info.name)).toEqual([ASYNC_STATE_NAME]);
    const state = snapshot.states[0];
    if (state?.kind !== 'list') throw new Error('expected a list state');
    const elements = state.elements;
    expect(elements).toEqual([
      { kind: 'record', value: 'b', timestamp: 2 },
      { kind: 'watermark', timestamp: 2 },
      { kind: 'record', value: 'c', timestamp: 3 },
      { kind: 'record', value: 'd', timestamp: 4 },
    ]);

    const restoredStore = new OperatorStateStore();
    restoredStore.restoreList(state.info, elements);
    const g = controlled();
    const restored = await open(g.fn, 'ORDERED', { capacity: 3, store: restoredStore, restored: true });
    expect(g.invoked).toEqual(['b', 'c']); // d waits for room, as before
    await restored.mailbox.runAll();
    expect(restored.emitted).toEqual([]);
    for (const x of ['c', 'b']) g.answer(x);
    await restored.mailbox.runAll();
    g.answer('d');
    await restored.mailbox.runAll();
    expect(restored.emitted).toEqual([
      ['record', 'b!', 2],
      ['watermark', 2],
      ['record', 'c!', 3],
      ['record', 'd!', 4],
    ]);
  });
});

describe('AsyncWaitOperator with retries', () => {
  /** Fails its first `failures` attempts per input, then answers. */
  function flaky(failures: number) {
    const attempts = new Map<string, number>();
    const fn: AsyncFunction<string, string> = {
      asyncInvoke(input, future) {
        const n = (attempts.get(input) ?? 0) + 1;
        attempts.set(input, n);
        if (n <= failures) future.completeExceptionally(new Error(`attempt ${n} failed`));
        else future.complete([`${input}@${n}`]);
      },
    };
    return { fn, attempts };
  }
  const fixed = (maxAttempts: number, backoff: number): AsyncRetryStrategy<string> => new AsyncRetryStrategies.FixedDelayRetryStrategyBuilder<string>(maxAttempts, backoff).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).build();

  it('retries a failed attempt after the backoff, up to maxAttempts retries, and emits the answer once', async () => {
    const f = flaky(2);
    const { operator, emitted, clock, mailbox } = await open(f.fn, 'ORDERED', { timeout: 10_000, retry: fixed(2, 50) });
    operator.processRecord('a', 4);
    await mailbox.runAll(); // attempt 1 failed: a retry at 1050
    expect(f.attempts.get('a')).toBe(1);
    await clock.advanceTo(1049);
    expect(f.attempts.get('a')).toBe(1);
    await clock.advanceTo(1050);
    await mailbox.runAll();
    await clock.advanceTo(1100);
    await mailbox.runAll();
    expect(f.attempts.get('a')).toBe(3);
    expect(emitted).toEqual([['record', 'a@3', 4]]);
  });

  it('fails the job once the retries are used up', async () => {
    const f = flaky(5);
    const { operator, clock, mailbox } = await open(f.fn, 'ORDERED', { timeout: 10_000, retry: fixed(2, 50) });
    operator.processRecord('a', null);
    await mailbox.runAll();
    await clock.advanceTo(1050);
    await mailbox.runAll();
    await clock.advanceTo(1100);
    await expect(mailbox.runAll()).rejects.toThrow(/"a": attempt 3 failed$/);
    expect(f.attempts.get('a')).toBe(3);
  });

  it('retries on an empty result with EMPTY_RESULT_PREDICATE', async () => {
    let calls = 0;
    const fn: AsyncFunction<string, string> = { asyncInvoke: (input, future) => future.complete(++calls === 1 ? [] : [input]) };
    const retry = new AsyncRetryStrategies.FixedDelayRetryStrategyBuilder<string>(3, 10).ifResult(RetryPredicates.EMPTY_RESULT_PREDICATE).build();
    const { operator, emitted, clock, mailbox } = await open(fn, 'UNORDERED', { timeout: 1000, retry });
    operator.processRecord('x', null);
    await mailbox.runAll();
    await clock.advanceTo(1010);
    await mailbox.runAll();
    expect(emitted).toEqual([['record', 'x', null]]);
  });

  it('the timeout covers every attempt: a retry still waiting is dropped and the timeout is final', async () => {
    const f = flaky(1);
    const { operator, clock, mailbox } = await open(f.fn, 'ORDERED', { timeout: 100, retry: fixed(3, 200) });
    operator.processRecord('a', null);
    await mailbox.runAll(); // retry due at 1200, after the deadline at 1100
    await clock.advanceTo(1100);
    await expect(mailbox.runAll()).rejects.toThrow(/Async function call has timed out\.$/);
    await clock.advanceTo(1200);
    expect(f.attempts.get('a')).toBe(1);
  });

  it('exponential backoff: initialDelay * multiplier^n, at most maxRetryDelay', () => {
    const retry = new AsyncRetryStrategies.ExponentialBackoffDelayRetryStrategyBuilder<string>(5, 100, 1000, 2).build();
    expect([1, 2, 3, 4].map((n) => retry.getBackoffTimeMillis(n))).toEqual([200, 400, 800, 1000]);
    expect([5, 6].map((n) => retry.canRetry(n))).toEqual([true, false]);
    expect(() => new AsyncRetryStrategies.FixedDelayRetryStrategyBuilder(0, 10)).toThrow('async retry strategy: maxAttempts should be greater than zero.');
  });
});
