import { describe, expect, it } from 'vitest';
import { AsyncDataStream } from './async-data-stream.ts';
import { TimeUnit, type TimeUnit as Unit } from './async-function.ts';
import { AsyncRetryStrategies, RetryPredicates } from './async-retry.ts';
import { StreamExecutionEnvironment } from './environment.ts';

const fn = (x: number) => Promise.resolve([x]);

function stream() {
  const env = StreamExecutionEnvironment.getExecutionEnvironment();
  return { env, numbers: env.fromElements(1, 2, 3) };
}

describe('AsyncDataStream', () => {
  it('adds one "async wait operator" with Flink’s default capacity, after keyBy on the key’s partitioning', () => {
    const { env, numbers } = stream();
    AsyncDataStream.unorderedWait(numbers, fn, 1000).uid('a');
    AsyncDataStream.orderedWait(numbers.keyBy((x) => x % 2), fn, 1, TimeUnit.SECONDS, 7).uid('b');
    const [, a, b] = env.graph.nodes;
    expect([a?.name, a?.uid, a?.inputs[0]?.partitioning.kind, a?.keyOf]).toEqual(['async wait operator', 'a', 'forward', undefined]);
    expect([b?.uid, b?.inputs[0]?.partitioning.kind, b?.keyOf?.(3, 0)]).toEqual(['b', 'hash', 1]);
  });

  it('takes a function without parameters as a factory called once per subtask (classes with #private fields)', async () => {
    class Doubler {
      readonly #factor = 2;
      asyncInvoke(x: number) {
        return Promise.resolve([x * this.#factor]);
      }
    }
    const { env, numbers } = stream();
    const out: number[] = [];
    AsyncDataStream.orderedWait(numbers, () => new Doubler(), 1000).sinkTo({ invoke: (v) => void out.push(v) });
    await env.execute('factory');
    expect(out).toEqual([2, 4, 6]);
    const bad = stream();
    AsyncDataStream.orderedWait(bad.numbers, (() => [1]) as unknown as () => Doubler, 1000).sinkTo({ invoke: () => undefined });
    await expect(bad.env.execute('not a factory')).rejects.toThrow('async wait operator: a function without parameters is taken as a factory of AsyncFunctions, and this one returned no object with asyncInvoke: declare the input parameter, (input, resultFuture) => ..., or return an AsyncFunction');
  });

  it('refuses a capacity, unit or retry setting that cannot work, in one line', () => {
    const { numbers } = stream();
    expect(() => AsyncDataStream.unorderedWait(numbers, fn, 1000, 0)).toThrow('async wait operator: capacity 0 is not a whole number >= 1 (the number of concurrent async operations)');
    expect(() => AsyncDataStream.orderedWait(numbers, fn, 1, 'WEEKS' as Unit)).toThrow("async wait operator: unknown time unit 'WEEKS': use one of MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS");
    const retry = new AsyncRetryStrategies.FixedDelayRetryStrategyBuilder<number>(3, 10).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).build();
    expect(() => AsyncDataStream.unorderedWaitWithRetry(numbers, fn, 0, retry)).toThrow('async wait operator: Timeout should be configured when do async with retry. (give a timeout > 0: it covers every attempt)');
    expect(() => AsyncDataStream.orderedWaitWithRetry(numbers, fn, 5, TimeUnit.SECONDS, 10, retry)).not.toThrow();
  });
});
