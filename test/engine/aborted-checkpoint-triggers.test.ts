/**
 * A subtask snapshots no checkpoint that was aborted before its trigger or barrier ran (Flink's
 * abortedCheckpointIds / CancelCheckpointMarker). With a snapshot slower than the timeout and
 * failures tolerated, every trigger that queued up behind it used to snapshot in turn, each for a
 * checkpoint already expired (and each as slow, so the backlog grew while the job ran). Now the
 * source skips them and sends a cancel marker in their place; the sink, a chain of its own,
 * skips the barrier of the expired checkpoint that was in progress, so its transaction is
 * pre-committed only for checkpoints that can complete, and the output stays exact.
 *
 * And a subtask downstream of two sources, aligning on a barrier that one of them sent before the
 * abort: the other, which skips the checkpoint, sends a cancel marker in its place, so the
 * alignment ends at once rather than holding the first source's channel until the next barrier.
 *
 * The slow snapshot is held by the test, the sources emit what the test allows and end when it
 * says; the coordinator's timeout runs on a fake clock.
 */
import { expect, it, vi } from 'vitest';
import type { CheckpointedFunction, MapFunction } from '../../src/engine/api/functions.ts';
import type { Source, SourceReader } from '../../src/engine/api/source.ts';
import type { SinkFunction } from '../../src/engine/runtime/operators.ts';
import type { SnapshotProgress } from '../../src/engine/checkpoint/checkpoint-coordinator.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { useFakeTimeouts } from '../support/fake-timeouts.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempRootForFile } from '../support/temp-dir.ts';

const dir = tempRootForFile('tsflink-aborted-triggers-');
useFakeTimeouts();

/** Numbers 0, 1, ... up to `allowed()` (exclusive), done once `ended()` and all are out. One split: its state is the next number. */
function steppedSource(allowed: () => number, ended: () => boolean): Source<number> {
  return {
    bounded: true,
    createSplits: () => [0],
    createReader(): SourceReader<number> {
      let next = 0;
      return {
        addSplits: (splits) => {
          if (splits.length > 0) next = splits[0] as number;
        },
        snapshotSplits: () => [next],
        async poll(max) {
          const records = [];
          while (next < allowed() && records.length < max) records.push({ value: next++, timestamp: null });
          if (records.length === 0) {
            if (ended()) return { records, done: true };
            // A turn of the event loop, not a timer: the timers are the test's.
            await new Promise((r) => setImmediate(r));
          }
          return { records, done: false };
        },
      };
    },
  };
}

/**
 * Subtask i emits i * 1000, i * 1000 + 1, ... below i * 1000 + `allowed(i)`, done once `ended()`
 * and all are out. One split per subtask: its state is how many it emitted.
 */
function steppedSources(allowed: (subtask: number) => number, ended: () => boolean): Source<number> {
  return {
    bounded: true,
    createSplits: (parallelism) => Array.from({ length: parallelism }, (_, subtask) => ({ subtask, emitted: 0 })),
    createReader(): SourceReader<number> {
      let split: { subtask: number; emitted: number } | undefined;
      return {
        addSplits: (splits) => {
          if (splits.length > 0) split = { ...(splits[0] as { subtask: number; emitted: number }) };
        },
        snapshotSplits: () => (split === undefined ? [] : [{ ...split }]),
        async poll(max) {
          const records = [];
          while (split !== undefined && split.emitted < allowed(split.subtask) && records.length < max) records.push({ value: split.subtask * 1000 + split.emitted++, timestamp: null });
          if (records.length === 0) {
            if (ended()) return { records, done: true };
            await new Promise((r) => setImmediate(r));
          }
          return { records, done: false };
        },
      };
    },
  };
}

/** Resolves once `done()` holds, checked at each turn of the event loop (the test's time limit applies). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

class CountingSink extends MemoryTransactionalSink<number> {
  constructor(
    store: MemoryTransactionalStore<number>,
    private readonly snapshots: number[],
  ) {
    super(store);
  }
  override async snapshotState(context: { checkpointId: number }): Promise<void> {
    this.snapshots.push(context.checkpointId);
    await super.snapshotState(context);
  }
}

it('triggers of expired checkpoints queued behind a slow snapshot snapshot nothing, and exactly-once output stays exact', async () => {
  const store = new MemoryTransactionalStore<number>();
  const mapSnapshots: number[] = [];
  const sinkSnapshots: number[] = [];
  let releaseFirst!: () => void;
  const first = new Promise<void>((resolve) => (releaseFirst = resolve));
  let allowed = 10;
  let ended = false;
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(1)
    // No periodic checkpoint comes: the test triggers each, two side by side.
    .configureCheckpointing({ interval: 3_600_000, timeout: 2000, maxConcurrent: 2, tolerableFailures: 100, dir: dir.path });
  let mapped = 0;
  const slow: MapFunction<number, number> & CheckpointedFunction = {
    map: (n) => {
      mapped += 1;
      return n;
    },
    initializeState: () => undefined,
    // Checkpoint 1's snapshot takes as long as the test says, past the timeout; the others are quick.
    snapshotState: ({ checkpointId }) => {
      mapSnapshots.push(checkpointId);
      return checkpointId === 1 ? first : undefined;
    },
  };
  env
    .fromSource(steppedSource(() => allowed, () => ended), 'numbers')
    .map(slow)
    // Two sink subtasks, a chain of their own: their barriers come through their input gates.
    .keyBy((n) => n % 4)
    .sinkTo(() => new CountingSink(store, sinkSnapshots))
    .setParallelism(2);
  let pending: readonly SnapshotProgress[] = [];
  const client = startLocally(env.graph, { ...env.executionOptions('aborted triggers'), events: { onPending: (p) => void (pending = p) } });

  await until(() => mapped === 10);
  const one = client.triggerCheckpoint();
  one.catch(() => undefined);
  await until(() => mapSnapshots.length === 1);
  // Injected as it is reported pending: the trigger waits in the source's mailbox, behind the held snapshot.
  const two = client.triggerCheckpoint();
  two.catch(() => undefined);
  await until(() => pending.some((p) => p.id === 2));
  await vi.advanceTimersByTimeAsync(2000);
  const [oneOutcome, twoOutcome] = await Promise.allSettled([one, two]);
  expect(oneOutcome).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^Checkpoint 1 expired before completing/) } });
  expect(twoOutcome).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^Checkpoint 2 expired before completing/) } });

  releaseFirst();
  allowed = 20;
  // Behind the trigger of checkpoint 2 in the source's mailbox, and behind barrier 1 at the sink.
  await client.triggerCheckpoint();
  expect(mapSnapshots).toEqual([1, 3]);
  expect(sinkSnapshots).toEqual([3, 3]);
  const committedAt3 = store.all().sort((a, b) => a - b);

  allowed = 30;
  ended = true;
  await client.result;
  // The final checkpoint is 4.
  expect(mapSnapshots).toEqual([1, 3, 4]);
  expect(sinkSnapshots).toEqual([3, 3, 4, 4]);
  // What came before barrier 3: the first 10, and some of the next 10 (the source emits them as it likes).
  expect(committedAt3).toEqual(Array.from({ length: committedAt3.length }, (_, i) => i));
  expect(committedAt3.length).toBeGreaterThanOrEqual(10);
  expect(committedAt3.length).toBeLessThanOrEqual(20);
  expect(store.all().sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
}, 60_000);

it('a skipped checkpoint’s cancel marker ends the alignment downstream that the other source’s barrier began', async () => {
  const received: number[] = [];
  const sinkSnapshots: number[] = [];
  const mapSnapshots: string[] = [];
  let releaseFirst!: () => void;
  const first = new Promise<void>((resolve) => (releaseFirst = resolve));
  const allowed = [10, 10];
  let ended = false;
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .configureCheckpointing({ interval: 3_600_000, timeout: 2000, maxConcurrent: 2, tolerableFailures: 100, dir: dir.path });
  const slow: MapFunction<number, number> & CheckpointedFunction & { subtask: number } = {
    subtask: -1,
    open(ctx) {
      this.subtask = ctx.subtaskIndex; // each subtask has its own copy of the object
    },
    map: (n) => n,
    initializeState: () => undefined,
    // Subtask 0's snapshot of checkpoint 1 takes as long as the test says; the others are quick.
    snapshotState({ checkpointId }) {
      mapSnapshots.push(`${this.subtask}:${checkpointId}`);
      return this.subtask === 0 && checkpointId === 1 ? first : undefined;
    },
  };
  const sink: SinkFunction<number> = {
    invoke: (n) => void received.push(n),
    initializeState: () => undefined,
    snapshotState: ({ checkpointId }) => void sinkSnapshots.push(checkpointId),
  };
  env
    .fromSource(steppedSources((i) => allowed[i]!, () => ended), 'numbers')
    .map(slow)
    .keyBy((n) => n % 4)
    // One sink subtask, two input channels (one per source subtask).
    .sinkTo(sink)
    .setParallelism(1);
  let pending: readonly SnapshotProgress[] = [];
  const client = startLocally(env.graph, { ...env.executionOptions('cancel marker'), events: { onPending: (p) => void (pending = p) } });

  await until(() => received.length === 20);
  const one = client.triggerCheckpoint();
  one.catch(() => undefined);
  await until(() => mapSnapshots.includes('0:1') && mapSnapshots.includes('1:1'));
  // Source 1 took checkpoint 1 and sent its barrier: the sink waits at it for source 0's.
  const two = client.triggerCheckpoint();
  two.catch(() => undefined);
  await until(() => pending.some((p) => p.id === 2) && mapSnapshots.includes('1:2'));
  // Source 1 took checkpoint 2 too: its barrier 2 waits in the sink's blocked channel.
  await vi.advanceTimersByTimeAsync(2000);
  await expect(one).rejects.toThrow(/^Checkpoint 1 expired before completing/);
  await expect(two).rejects.toThrow(/^Checkpoint 2 expired before completing/);
  // Behind barrier 2 in source 1's channel.
  allowed[1] = 20;
  releaseFirst();
  // Source 0 ends its snapshot of 1 (begun before the abort), then skips 2 and cancels it: the
  // sink reads source 1's records after barrier 2 with no further checkpoint. (Without the cancel
  // marker this waits until the test's time limit: that channel stays blocked at barrier 2.)
  await until(() => received.length === 30);
  expect(mapSnapshots.filter((s) => s.startsWith('0:'))).toEqual(['0:1']);
  expect(sinkSnapshots).toEqual([]);

  await client.triggerCheckpoint();
  expect(sinkSnapshots).toEqual([3]);
  ended = true;
  await client.result;
  expect(received.sort((a, b) => a - b)).toEqual([...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 1000 + i)]);
}, 60_000);
