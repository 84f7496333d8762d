/**
 * The synchronous part of a checkpoint (Flink's `checkpoint_duration.sync`: how long the barrier
 * holds a subtask's processing thread) is measured per subtask and reported with each completed
 * checkpoint: in the coordinator's stats (which the cluster serves over REST) and in `_metadata`
 * as `durations.sync`, the longest over the subtasks. A map function whose snapshotState holds
 * the thread for a known time must show at least that time, and only in its own subtasks.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckpointedFunction, MapFunction } from '../../src/engine/api/functions.ts';
import type { SnapshotStats } from '../../src/engine/checkpoint/checkpoint-coordinator.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { checkpointDirName } from '../../src/format/snapshot-paths.ts';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { DataGeneratorSource, PrintSink, StreamExecutionEnvironment } from '../../src/index.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { tempDir } from '../support/temp-dir.ts';

const HOLD_MS = 30;

/** Holds the processing thread for HOLD_MS in every snapshotState (a busy wait: nothing else can run). */
function holdingMap(): MapFunction<string, string> & CheckpointedFunction {
  return {
    map: (value) => value,
    initializeState: () => undefined,
    snapshotState() {
      const until = performance.now() + HOLD_MS;
      while (performance.now() < until) {
        // busy
      }
    },
  };
}

describe('the synchronous part of a checkpoint', () => {
  it('is measured per subtask and reported with each completed checkpoint and in _metadata', async () => {
    const dir = await tempDir();
    try {
      let done = false;
      const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 20, dir: dir.path, numRetained: 100 });
      env
        // Held open until two checkpoints completed, however fast the machine is.
        .fromSource(new DataGeneratorSource({ count: 2_000, seed: 3, recordsPerSecond: 5_000, generate: (i) => `k${i % 100}`, endWhen: () => done }), 'keys')
        .uid('keys')
        .keyBy((k) => k)
        .map(holdingMap())
        .uid('hold')
        .sinkTo(new PrintSink<string>({ out: { write: () => undefined } }))
        .uid('sink');
      const seen: SnapshotStats[] = [];
      const syncInMetadata: number[] = [];
      const reads: Promise<void>[] = [];
      let jobId = '';
      const client = startLocally(env.graph, {
        ...env.executionOptions('sync-duration'),
        events: {
          onCompleted: (stats) => {
            seen.push(stats);
            if (seen.length >= 2) done = true;
            // Read at once: the job deletes its checkpoints when it ends.
            const location = new LocalObjectStore(join(dir.path, jobId, checkpointDirName(stats.id)));
            reads.push(SnapshotReader.open(location).then((r) => void syncInMetadata.push(r.metadata.stats.durations.sync ?? -1)));
          },
        },
      });
      jobId = client.jobId;
      await client.result;
      await Promise.all(reads);

      expect(seen.length).toBeGreaterThanOrEqual(2);
      for (const stats of seen) {
        const subtasks = stats.subtasks ?? [];
        // Source chain (2 subtasks) and the map -> sink chain (2 subtasks).
        expect(subtasks).toHaveLength(4);
        const holding = subtasks.filter((s) => s.syncMs >= HOLD_MS);
        expect(holding.map((s) => s.subtask).sort()).toEqual([0, 1]);
        expect(new Set(holding.map((s) => s.chain)).size).toBe(1);
        for (const s of subtasks) {
          expect(s.asyncMs).toBeGreaterThanOrEqual(0);
          expect(s.ackAt).toBeGreaterThanOrEqual(stats.triggeredAt);
          expect(s.size).toBeGreaterThan(0);
        }
      }
      expect(syncInMetadata.length).toBeGreaterThan(0);
      for (const sync of syncInMetadata) expect(sync).toBeGreaterThanOrEqual(HOLD_MS);
    } finally {
      await dir.remove();
    }
  }, 30_000);
});
