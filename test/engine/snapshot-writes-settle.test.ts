/**
 * A job's result is known only after every asynchronous snapshot write of the job has settled and
 * the aborted snapshot's directory is gone: nothing writes into a checkpoint directory after
 * `cancel()` returns or the job fails. The test holds the subtasks' data-file writes open through
 * the store it gives the executor, ends the job, and releases them only later. The same hold keeps
 * a savepoint pending while its attempt ends, to check what its caller is told.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JobClient, startLocally } from '../../src/engine/runtime/local-executor.ts';
import { DataGeneratorSource, StreamExecutionEnvironment } from '../../src/index.ts';
import type { ObjectStore, ObjectWriter } from '../../src/storage/object-store.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { tempDir } from '../support/temp-dir.ts';

/** Opens real local stores whose writers block at their first write (or close) until release(). */
function holdingStores(): { open: (location: string) => Promise<ObjectStore>; held: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let reached!: () => void;
  const held = new Promise<void>((r) => (reached = r));
  const hold = async (): Promise<void> => {
    reached();
    await released;
  };
  const open = async (location: string): Promise<ObjectStore> => {
    const store = await openStore(location);
    return Object.assign(Object.create(store) as ObjectStore, {
      async createWriter(key: string): Promise<ObjectWriter> {
        const writer = await store.createWriter(key);
        return {
          write: async (chunk: Uint8Array) => (await hold(), writer.write(chunk)),
          close: async () => (await hold(), writer.close()),
          abort: () => writer.abort(),
        };
      },
    });
  };
  return { open, held, release };
}

/** A checkpoint as soon as the job's first attempt has started (before, it is refused). */
async function triggerOnceStarted(client: JobClient): Promise<string> {
  for (;;) {
    try {
      return await client.triggerCheckpoint();
    } catch (err) {
      if (!/is not running/.test(String(err))) throw err;
      await sleep(10);
    }
  }
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('the end of a job waits for its snapshot writes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it.each(['cancelled', 'failed'] as const)('a job %s while a checkpoint is written ends only after the write settled, and leaves no checkpoint files', async (ending) => {
    let fail = false;
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      // Only the checkpoint the test triggers: an hour between periodic ones.
      .configureCheckpointing({ interval: 3_600_000, dir: dir.path })
      .setRestartStrategy({ type: 'none' });
    env
      // Unbounded, so it runs until the test ends it; the rate only keeps a chain without channels
      // from holding the event loop.
      .fromSource(new DataGeneratorSource({ recordsPerSecond: 1000, generate: (i) => i }), 'numbers')
      .uid('numbers')
      .sinkTo(() => ({
        invoke: () => {
          if (fail) throw new Error('injected failure');
        },
      }));
    const stores = holdingStores();
    const client = startLocally(env.graph, { ...env.executionOptions('settle'), openSnapshotStore: stores.open });
    const checkpoint = triggerOnceStarted(client);
    checkpoint.catch(() => undefined);
    await Promise.race([stores.held, checkpoint]);

    const order: string[] = [];
    const ended = client.result.then(
      () => order.push('result'),
      () => order.push('result'),
    );
    if (ending === 'cancelled') void client.cancel();
    else fail = true;
    // Without the wait, the job's result comes while the write is still held; with it, never.
    await Promise.race([ended, sleep(1_000)]);
    order.push('released');
    stores.release();
    await ended;
    expect(order).toEqual(['released', 'result']);
    expect(client.status()).toBe(ending === 'cancelled' ? 'CANCELED' : 'FAILED');
    await expect(checkpoint).rejects.toThrow(/Checkpoint 1 (was aborted|failed)/);

    // The aborted checkpoint's directory is gone, and nothing lands in it later either.
    expect(await filesUnder(dir.path)).toEqual([]);
    await sleep(200);
    expect(await filesUnder(dir.path)).toEqual([]);
  });
});

describe('a savepoint pending when its attempt ends says how the job goes on', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it.each([
    ['restarts', "the job's attempt ended (it is restarting); try again once the job is RUNNING"],
    ['fails', 'the job failed'],
    ['is cancelled', 'the job was cancelled'],
  ] as const)('the job %s', async (ending, because) => {
    let fail = false;
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(1)
      .configureCheckpointing({ interval: 3_600_000, dir: join(dir.path, 'checkpoints') })
      .setRestartStrategy(ending === 'restarts' ? { type: 'fixed-delay', attempts: 1, delayMs: 0 } : { type: 'none' });
    env
      .fromSource(new DataGeneratorSource({ recordsPerSecond: 1000, generate: (i) => i }), 'numbers')
      .uid('numbers')
      .sinkTo(() => ({
        invoke: () => {
          if (!fail) return;
          fail = false; // once: the restarted attempt runs on
          throw new Error('injected failure');
        },
      }));
    const stores = holdingStores();
    const statuses: string[] = [];
    const client = startLocally(env.graph, { ...env.executionOptions('aborted-savepoint'), openSnapshotStore: stores.open, events: { onStatus: (s) => void statuses.push(s) } });
    let savepoint: Promise<string>;
    for (;;) {
      savepoint = client.triggerSavepoint(join(dir.path, 'savepoints'));
      const refused = await Promise.race([savepoint.then(() => undefined, (err: unknown) => String(err)), stores.held.then(() => undefined)]);
      if (refused === undefined || !/is not running/.test(refused)) break;
      await sleep(10);
    }
    savepoint.catch(() => undefined);
    if (ending === 'is cancelled') void client.cancel();
    else fail = true;
    const message = await savepoint.then(() => 'completed', (err: unknown) => (err instanceof Error ? err.message : String(err)));
    expect(message).toBe(`Savepoint 1 was aborted: ${because}`);
    stores.release();
    if (ending === 'restarts') {
      await until(() => statuses.includes('RESTARTING') && statuses.at(-1) === 'RUNNING');
      await client.cancel();
    }
    await client.result.catch(() => undefined);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}
