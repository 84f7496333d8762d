/**
 * Delivery guarantees under the same failure: exactly-once (aligned barriers, transactional
 * sink) commits each result exactly once; at-least-once (no alignment, a plain sink) loses
 * nothing but may repeat; and failing checkpoints fail the job only past the tolerated number.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Count, wordCount } from '../../fixtures/jobs/word-count.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { waitFor } from '../support/cluster-probes.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let expected: string[];
const RECORDS = 40_000;
const key = (c: Count): string => `${c.word}:${c.count}`;

beforeAll(async () => {
  dir = await tempDir();
  const straight = new MemoryTransactionalStore<Count>();
  const env = StreamExecutionEnvironment.getExecutionEnvironment();
  wordCount(env, { records: RECORDS, sink: () => new MemoryTransactionalSink(straight) });
  await env.execute('straight');
  expected = straight.all().map(key).sort();
});
afterAll(async () => {
  await dir.remove();
});

describe('delivery guarantees', () => {
  it('AT_LEAST_ONCE with a plain sink: every result arrives, some more than once', async () => {
    const seen: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, mode: 'AT_LEAST_ONCE', dir: `${dir.path}/alo` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 2, delayMs: 10 });
    wordCount(env, { records: RECORDS, failAt: 5_000, perSecond: 20_000, sink: { invoke: (c: Count) => void seen.push(key(c)) } });
    expect((await env.execute('at least once')).attempts).toBe(2);
    const arrived = new Set(seen);
    expect(expected.filter((r) => !arrived.has(r))).toEqual([]); // nothing lost
    // Replayed after the failure: results repeat, and state that already held some replayed
    // records counts them again, so some counts even overshoot. Exactly-once below does neither.
    expect(seen.length).toBeGreaterThan(expected.length);
  });

  it('EXACTLY_ONCE with a transactional sink: each result committed exactly once', async () => {
    const store = new MemoryTransactionalStore<Count>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, mode: 'EXACTLY_ONCE', dir: `${dir.path}/eo` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 2, delayMs: 10 });
    wordCount(env, { records: RECORDS, failAt: 5_000, perSecond: 20_000, sink: () => new MemoryTransactionalSink(store) });
    expect((await env.execute('exactly once')).attempts).toBe(2);
    expect(store.all().map(key).sort()).toEqual(expected);
  });
});

describe('failing checkpoints', () => {
  it('do not fail the job while within tolerable-failed-checkpoints', async () => {
    const blocked = `${dir.path}/not-a-directory`;
    await writeFile(blocked, 'a file where the checkpoint directory should be');
    let seen = 0;
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .configureCheckpointing({ interval: 20, dir: blocked, tolerableFailures: 1_000_000 })
      .setRestartStrategy({ type: 'none' });
    // Unbounded: the job runs until cancelled, however slow the machine is.
    wordCount(env, { records: Number.MAX_SAFE_INTEGER, perSecond: 20_000, sink: { invoke: () => void (seen += 1) } });
    let failed = 0;
    let reachedFive!: () => void;
    const fiveFailed = new Promise<void>((resolve) => (reachedFive = resolve));
    const client = startLocally(env.graph, { ...env.executionOptions('checkpoints fail'), events: { onFailed: () => void (++failed === 5 && reachedFive()) } });
    await fiveFailed;
    expect(client.status()).toBe('RUNNING');
    const before = seen;
    await waitFor('records to keep flowing', async () => seen > before + 1_000);
    await client.cancel();
    expect(await client.result).toMatchObject({ status: 'CANCELED', checkpoints: 0 });
  });

  it('fail a bounded job whose final checkpoint cannot be written, naming why', async () => {
    const blocked = `${dir.path}/still-not-a-directory`;
    await writeFile(blocked, 'x');
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .configureCheckpointing({ interval: 20, dir: blocked, tolerableFailures: 1_000_000 })
      .setRestartStrategy({ type: 'none' });
    wordCount(env, { records: 1_000, sink: () => new MemoryTransactionalSink(new MemoryTransactionalStore<Count>()) });
    await expect(env.execute('final checkpoint fails')).rejects.toThrow(/the job's final checkpoint failed 3 times, so its last results cannot be committed/);
  });

  it('fail the job once more fail in a row than tolerated', async () => {
    const blocked = `${dir.path}/also-not-a-directory`;
    await writeFile(blocked, 'x');
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .configureCheckpointing({ interval: 20, dir: blocked, tolerableFailures: 2 })
      .setRestartStrategy({ type: 'none' });
    wordCount(env, { records: 200_000, perSecond: 20_000, sink: { invoke() {} } });
    await expect(env.execute('too many failures')).rejects.toThrow(
      /^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Asynchronous task checkpoint 3 failed: \S+\/chk-3\/\S+: no such file or object\. View the checkpoint history \(GET \/jobs\/[0-9a-f]{32}\/checkpoints, or the web dashboard's checkpoints page\) to find out why continuous checkpoints failed\.$/,
    );
  });
});
