/**
 * Async I/O through the whole engine: orders enriched with a price from a real local HTTP server
 * (node:http) via AsyncDataStream, into an exactly-once sink. Backpressure is observed at the
 * function (never more than `capacity` requests out), a failure with a restart loses and doubles
 * nothing, and requests that were in flight at the checkpoint are made again after a restore at
 * another parallelism (the server holds some of them unanswered for the whole first run, so the
 * output has them only if the checkpoint carried them).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnce, heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { AsyncDataStream } from '../../src/engine/api/async-data-stream.ts';
import { type AsyncFunction, type ResultFuture, TimeUnit } from '../../src/engine/api/async-function.ts';
import { AsyncRetryStrategies, RetryPredicates } from '../../src/engine/api/async-retry.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { KeyedProcessFunction } from '../../src/engine/api/keyed-process.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { latestCheckpoint } from '../support/latest-checkpoint.ts';
import { tempDir } from '../support/temp-dir.ts';

const RECORDS = 3_000;
const price = (id: number): number => (id * 37) % 101;
const expected = Array.from({ length: RECORDS }, (_, id) => `${id}:${price(id)}`).sort();

/** The price service: answers on the next turn of its event loop, or holds ids in `held` unanswered. */
class PriceServer {
  readonly requests = new Map<number, number>();
  held = new Set<number>();
  /** Ids whose first request gets a 503. */
  failFirst: (id: number) => boolean = () => false;
  readonly #waiting: ServerResponse[] = [];
  #server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const id = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('id'));
      this.requests.set(id, (this.requests.get(id) ?? 0) + 1);
      if (this.held.has(id)) return void this.#waiting.push(res);
      if (this.failFirst(id) && this.requests.get(id) === 1) return void res.writeHead(503).end('try again');
      setImmediate(() => res.end(JSON.stringify({ id, price: price(id) })));
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  /** Drops what it held (the requests of a failed run). */
  release(): void {
    for (const res of this.#waiting.splice(0)) res.destroy();
  }

  async stop(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

interface Priced {
  readonly id: number;
  readonly price: number;
}

/** One HTTP request per order; requests still out when the subtask closes are aborted. */
function priceLookup(port: number): AsyncFunction<number, Priced> & { abort: AbortController } {
  return {
    abort: new AbortController(),
    open() {
      this.abort = new AbortController(); // each subtask its own (it gets its own copy of the object)
    },
    async asyncInvoke(id) {
      const res = await fetch(`http://127.0.0.1:${port}/price?id=${id}`, { signal: this.abort.signal });
      if (!res.ok) throw new Error(`price service answered ${res.status} for ${id}`);
      return [(await res.json()) as Priced];
    },
    close() {
      this.abort.abort();
    },
  };
}

let dir: Awaited<ReturnType<typeof tempDir>>;
const server = new PriceServer();
beforeAll(async () => {
  dir = await tempDir();
  await server.start();
});
afterAll(async () => {
  await server.stop();
  await dir.remove();
});

function job(env: StreamExecutionEnvironment, options: { mode: 'ordered' | 'unordered'; failAt?: number; store: MemoryTransactionalStore<string> }): void {
  let checkpointed = false;
  const ids = new DataGeneratorSource<number>({ count: RECORDS, generate: (i) => i });
  const source = options.failAt === undefined ? ids : heldAfter(ids, options.failAt, () => !checkpointed);
  const orders = env
    .fromSource(source, 'orders')
    .uid('orders')
    .map(failOnce<number>(options.failAt, () => (checkpointed = true)))
    .uid('fail-once');
  const wait = options.mode === 'ordered' ? AsyncDataStream.orderedWait : AsyncDataStream.unorderedWait;
  wait(orders, priceLookup(server.port), 60_000, 8)
    .uid('prices')
    .map((p) => `${p.id}:${p.price}`)
    .uid('describe')
    .sinkTo(() => new MemoryTransactionalSink(options.store))
    .uid('sink');
}

describe('Async I/O', () => {
  it('never has more than `capacity` requests out: the subtask stops taking input', async () => {
    let out = 0;
    let most = 0;
    const seen: number[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const fn: AsyncFunction<number, number> = {
      asyncInvoke(id, future) {
        out += 1;
        most = Math.max(most, out);
        setImmediate(() => {
          out -= 1;
          future.complete([id]);
        });
      },
    };
    AsyncDataStream.unorderedWait(env.fromSource(new DataGeneratorSource<number>({ count: 500, generate: (i) => i }), 'ids'), fn, 0, 5).sinkTo({ invoke: (v) => void seen.push(v) });
    await env.execute('capacity');
    expect(most).toBe(5); // a poll hands 500 records at once: 5 go out, the rest wait
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('unordered: results come back scrambled but none after a watermark that passed it (after keyBy, at p=2)', async () => {
    const records = 5_000; // the watermark operator emits one every 1000 records
    const late: number[] = [];
    const arrived: number[] = [];
    let underWatermark = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const timed = env
      .fromSource(new DataGeneratorSource<number>({ count: records, generate: (i) => i }), 'ids')
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((i) => i * 10))
      .keyBy((i) => i % 4);
    // Request i answers after (7i mod 5) turns of the event loop: later inputs often come back first.
    const scrambled = (i: number, future: { complete(r: number[]): void }, hops = (i * 7) % 5): void => {
      if (hops === 0) future.complete([i]);
      else setImmediate(() => scrambled(i, future, hops - 1));
    };
    const check: KeyedProcessFunction<number, number, never> = {
      processElement(i, ctx) {
        arrived.push(i);
        const watermark = ctx.timerService().currentWatermark();
        if (watermark > Number.NEGATIVE_INFINITY) underWatermark += 1;
        if (ctx.timestamp! <= watermark) late.push(i);
      },
    };
    AsyncDataStream.unorderedWait(timed, (i: number, future: ResultFuture<number>) => scrambled(i, future), 0, 50)
      .keyBy((i) => i % 3)
      .process(check)
      .setParallelism(1);
    await env.execute('unordered with watermarks');
    expect(late).toEqual([]);
    expect(underWatermark).toBeGreaterThan(records / 10); // watermarks really were in the stream
    expect(arrived.some((i, k) => k > 0 && i < arrived[k - 1]!)).toBe(true); // and the results really out of order
    expect([...arrived].sort((a, b) => a - b)).toEqual(Array.from({ length: records }, (_, i) => i));
  });

  it('retries what the service refused (unorderedWaitWithRetry), each order priced once', async () => {
    server.requests.clear();
    server.failFirst = (id) => id % 10 === 0;
    try {
      const prices: Priced[] = [];
      const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
      const retry = new AsyncRetryStrategies.FixedDelayRetryStrategyBuilder<Priced>(2, 1).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).build();
      const orders = env.fromSource(new DataGeneratorSource<number>({ count: 500, generate: (i) => i }), 'orders');
      AsyncDataStream.unorderedWaitWithRetry(orders, priceLookup(server.port), 1, TimeUnit.MINUTES, 20, retry).sinkTo({ invoke: (p) => void prices.push(p) });
      await env.execute('prices with retries');
      expect(prices.map((p) => p.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      expect(server.requests.get(10)).toBe(2);
      expect(server.requests.get(11)).toBe(1);
    } finally {
      server.failFirst = () => false;
    }
  });

  it('fails the job when a request times out, with Flink’s message', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1).setRestartStrategy({ type: 'none' });
    AsyncDataStream.orderedWait(env.fromElements(1, 2), (_id: number) => undefined, 1).sinkTo({ invoke: () => undefined });
    await expect(env.execute('times out')).rejects.toThrow(/could not complete the stream element Record @ \(undef\) : 1: Async function call has timed out\./);
  });

  it('commits every order priced once at p=2 through checkpoints and a failure with a restart (ordered)', async () => {
    const store = new MemoryTransactionalStore<string>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/restart` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    job(env, { mode: 'ordered', failAt: 400, store });
    const result = await env.execute('prices with a failure');
    expect(result.attempts).toBe(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(store.all().sort()).toEqual(expected);
  });

  it('makes the requests in flight at the checkpoint again after a restore at p=3 (unordered)', async () => {
    const store = new MemoryTransactionalStore<string>();
    const checkpoints = `${dir.path}/rescale`;
    // Ids 3 and 10 come in the first poll of their subtasks; unanswered, they are in flight at every checkpoint.
    server.held = new Set([3, 10]);
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    job(first, { mode: 'unordered', failAt: 400, store });
    await expect(first.execute('prices, fails')).rejects.toThrow(/injected failure/);
    const committed = store.all();
    expect(committed.length).toBeLessThan(RECORDS);
    expect(committed.filter((l) => l.startsWith('3:') || l.startsWith('10:'))).toEqual([]);
    server.release();
    server.held = new Set();
    server.requests.clear();

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    job(second, { mode: 'unordered', store });
    await second.execute('prices, restored at p3');
    expect(server.requests.get(3)).toBe(1);
    expect(server.requests.get(10)).toBe(1);
    expect(store.all().sort()).toEqual(expected);
  });
});
