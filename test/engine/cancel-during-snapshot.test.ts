/**
 * A subtask cancelled while its operator's snapshotState is still running (a slow snapshot) ends
 * once that returns: a checkpoint trigger queued behind it starts no snapshot. Before, every
 * trigger queued in the mailbox ran first, each as slow, and a cluster slot then took its whole
 * stop grace (then 30 s, now task.cancellation.timeout) to end. The snapshot is held by the test, the source by heldAtEnd.
 */
import { expect, it } from 'vitest';
import { heldAtEnd } from '../../fixtures/jobs/fail-injection.ts';
import type { CheckpointedFunction, MapFunction } from '../../src/engine/api/functions.ts';
import type { SnapshotProgress } from '../../src/engine/checkpoint/checkpoint-coordinator.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { DataGeneratorSource, StreamExecutionEnvironment } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

/** Resolves once `done()` holds, checked at each turn of the event loop (no time limit of its own: the test's applies). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

it('a cancelled subtask starts no snapshot for a trigger queued behind a slow one', async () => {
  const dir = await tempDir();
  try {
    const snapshots: number[] = [];
    let releaseFirst!: () => void;
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(1)
      // Periodic checkpoints never come in this test: the two it takes are manual, side by side.
      .configureCheckpointing({ interval: 3_600_000, maxConcurrent: 2, dir: dir.path });
    const slow: MapFunction<string, string> & CheckpointedFunction = {
      map: (w) => w,
      initializeState: () => undefined,
      // The first snapshot takes as long as the test says; any later one is quick.
      snapshotState: ({ checkpointId }) => {
        snapshots.push(checkpointId);
        return snapshots.length === 1 ? first : undefined;
      },
    };
    env
      .fromSource(heldAtEnd(new DataGeneratorSource({ count: 10, generate: (i) => `w${i}` }), () => true), 'words')
      .map(slow)
      .sinkTo({ invoke() {} });
    let pending: readonly SnapshotProgress[] = [];
    const client = startLocally(env.graph, { ...env.executionOptions('slow snapshot'), events: { onPending: (p) => void (pending = p) } });
    const one = client.triggerCheckpoint();
    one.catch(() => undefined);
    await until(() => snapshots.length === 1);
    // Its barrier is injected as it is reported pending: the trigger is in the source's mailbox, behind the held snapshot.
    const two = client.triggerCheckpoint();
    two.catch(() => undefined);
    await until(() => pending.some((p) => p.id === 2));
    const cancelled = client.cancel();
    await expect(two).rejects.toThrow(/^Checkpoint 2 was aborted: the job was cancelled$/);
    // One turn of the event loop: the deployment has cancelled its subtasks (microtasks of the cancel).
    await new Promise((r) => setImmediate(r));
    releaseFirst();
    await cancelled;
    expect(client.status()).toBe('CANCELED');
    expect(snapshots).toEqual([1]);
  } finally {
    await dir.remove();
  }
}, 60_000);
