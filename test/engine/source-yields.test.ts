/**
 * A source that always has records (unbounded, no rate) chained to its sink never waits for
 * anything, so its loop alone must give the event loop a turn: otherwise no periodic checkpoint,
 * timer or client call (cancel) could ever run (without that turn this test hangs: even its
 * timeout cannot fire).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

describe('a source that never waits', () => {
  it('still lets periodic checkpoints, the caller\'s timers and cancel run', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(1)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/chk` });
    let seen = 0;
    // One chain: source, map and sink run in one loop with no channel between them.
    env
      .fromSource(new DataGeneratorSource({ seed: 1, generate: (i) => i }), 'numbers')
      .uid('numbers')
      .map((n) => n + 1)
      .uid('plus-one')
      .sinkTo({ invoke: () => void (seen += 1) })
      .uid('sink');
    let completed = 0;
    let twoCompleted!: () => void;
    const checkpointed = new Promise<void>((resolve) => (twoCompleted = resolve));
    const client = startLocally(env.graph, { ...env.executionOptions('never waits'), events: { onCompleted: () => void (++completed === 2 && twoCompleted()) } });
    await checkpointed;
    const before = seen;
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toBeGreaterThan(before); // a timer of the test's own ran while records flowed
    await client.cancel();
    expect((await client.result).status).toBe('CANCELED');
  });
});
