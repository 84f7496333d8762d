/**
 * A savepoint of a running event-time window job, as an independent reader of FORMAT.md sees it:
 * `createdAt` and every other uint of `_metadata` are MessagePack ints, the windows' user keys
 * (`[start, end]`, timestamps above 2^32) are canonical, timer timestamps are ints, and `flink verify`
 * passes. The job is held open by its source until the test has its savepoint.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { AggregateFunction } from '../../src/engine/api/functions.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { TumblingEventTimeWindows } from '../../src/engine/api/window-assigners.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { runFlink } from '../support/run-flink.ts';
import { decodeMetadata } from '../../src/format/metadata-readers.ts';
import { tempDir } from '../support/temp-dir.ts';
import { throttled } from '../support/throttled-source.ts';
import { MINUTE, OUT_OF_ORDERNESS, type Order, orderSource } from './order-jobs.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

const count: AggregateFunction<Order, number, number> = { createAccumulator: () => 0, add: (_, n) => n + 1, getResult: (n) => n };

/** The bytes of MessagePack `key` (a fixstr) followed by its value's first byte, in `bytes`. */
function firstByteAfterKey(bytes: Buffer, key: string): number {
  const encoded = Buffer.concat([Buffer.of(0xa0 | key.length), Buffer.from(key)]);
  const at = bytes.indexOf(encoded);
  expect(at).toBeGreaterThan(0);
  return bytes[at + encoded.length]!;
}

describe('an engine savepoint of a window job', () => {
  it('follows FORMAT.md: ints for uints and timestamps, canonical window keys', async () => {
    let released = false;
    let seen = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env
      .fromSource(throttled(orderSource(10_000), { recordsPerSecond: 1_000_000, hold: { after: 1_500, until: () => released } }), 'orders')
      .uid('orders')
      .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(OUT_OF_ORDERNESS).withTimestampAssigner((o) => o.time))
      .uid('timestamps')
      .map((o) => {
        seen += 1;
        return o;
      })
      .uid('seen')
      .keyBy((o) => o.user)
      .window(TumblingEventTimeWindows.of(10 * MINUTE))
      .aggregate(count)
      .uid('counts')
      .sinkTo(() => new MemoryTransactionalSink(new MemoryTransactionalStore<number>()))
      .uid('sink');
    const client = env.executeAsync('window savepoint');
    let savepoint: string;
    try {
      // Both source subtasks hold after 1,500 records: wait for all of them, then take the savepoint.
      while (seen < 3_000) await new Promise((r) => setTimeout(r, 10));
      savepoint = await client.triggerSavepoint(join(dir.path, 'savepoints'));
    } finally {
      released = true;
      await client.cancel().catch(() => undefined);
    }
    await client.result;

    const metadata = await readFile(join(savepoint, '_metadata'));
    expect(firstByteAfterKey(metadata, 'createdAt')).toBe(0xcf);

    // The places FORMAT.md 5.2 types as integers: the window contents' user keys ([start, end]
    // of each window) and the timers' timestamps. (Numbers inside values, such as the window
    // operator's `window-timers` triples, are values: ints below 2^32, float64 above, 5.2.)
    const meta = decodeMetadata(metadata, '_metadata');
    const counts = meta.operators.find((o) => o.uid === 'counts')!;
    const bytesOf = async (state: string): Promise<Buffer> => {
      const blocks = counts.keyedStates.find((k) => k.name === state)!.blocks;
      const parts = await Promise.all(blocks.map(async (b) => (await readFile(join(savepoint, meta.files[b.file]!.path))).subarray(b.offset, b.offset + b.length)));
      return Buffer.concat(parts);
    };
    const data = Buffer.concat([await bytesOf('window-contents'), await bytesOf('_timers')]);
    const windowEnd = Buffer.alloc(8);
    let ints = 0;
    for (let at = data.indexOf(0xcf); at !== -1; at = data.indexOf(0xcf, at + 1)) {
      if (at + 9 > data.length) break;
      const n = Number(data.readBigUInt64BE(at + 1));
      if (n > 2 ** 32 && n < 2 ** 42 && n % (10 * MINUTE) === 0) ints += 1;
    }
    expect(ints).toBeGreaterThan(0);
    for (let end = Date.UTC(2024, 0, 1); end < Date.UTC(2024, 0, 1) + 10_000 * 1000 + 20 * MINUTE; end += 10 * MINUTE) {
      windowEnd.writeDoubleBE(end);
      expect(data.indexOf(Buffer.concat([Buffer.of(0xcb), windowEnd])), `window end ${end} as float64`).toBe(-1);
      windowEnd.writeDoubleBE(end - 1);
      expect(data.indexOf(Buffer.concat([Buffer.of(0xcb), windowEnd])), `timer ${end - 1} as float64`).toBe(-1);
    }

    const verify = await runFlink(['verify', savepoint]);
    expect(verify.stdout).toMatch(/^OK /);
    expect(verify.code).toBe(0);
  });
});
