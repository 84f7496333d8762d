/**
 * The coordinator's expiry timer, over a stand-in attempt whose subtasks never acknowledge: a
 * pending snapshot expires at its timeout even when no periodic checkpoints run (Flink's
 * checkpoint canceller). Its queue, and the progress it reports of pending snapshots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { type CheckpointConfig, defaultCheckpointConfig } from './checkpoint-config.ts';
import type { SubtaskAck } from '../runtime/subtask.ts';
import { type AttemptHandle, CheckpointCoordinator, type SnapshotProgress } from './checkpoint-coordinator.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-coordinator-');
});
afterAll(async () => {
  await dir.remove();
});

/** An attempt whose one subtask takes barriers and never acknowledges them. */
function silentAttempt(): AttemptHandle & { readonly barriers: number[]; readonly aborted: number[] } {
  const barriers: number[] = [];
  const aborted: number[] = [];
  return {
    barriers,
    aborted,
    nodes: [],
    subtaskCount: 1,
    canCheckpoint: () => true,
    injectBarrier: (id) => void barriers.push(id),
    notifyComplete: () => undefined,
    notifyAborted: (id) => void aborted.push(id),
    fail: () => undefined,
  };
}

function coordinator(config: Partial<CheckpointConfig>): CheckpointCoordinator {
  return new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, ...config }, { jobId: 'a'.repeat(32), jobName: 'j' });
}

async function within<T>(what: string, work: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('CheckpointCoordinator expiry', () => {
  it('expires a pending savepoint at its timeout without periodic checkpoints', async () => {
    const c = coordinator({ interval: null, timeout: 50 });
    const attempt = silentAttempt();
    c.start(attempt);
    const savepoint = c.triggerSavepoint(dir.path);
    await expect(within('the savepoint to expire', savepoint)).rejects.toThrow(/^Savepoint 1 expired before completing: it took longer than execution\.checkpointing\.timeout \(50 ms\)\.$/);
    expect(attempt.aborted).toEqual([1]);
    await c.settle();
  });
});

describe('CheckpointCoordinator failing the job', () => {
  it("fails the job with a declined stop-with-savepoint's own line, at once and whatever is tolerated, not the tolerable-failure text", async () => {
    const c = coordinator({ interval: null, tolerableFailures: 5 });
    const failures: Error[] = [];
    const attempt = { ...silentAttempt(), fail: (e: Error) => void failures.push(e) };
    c.start(attempt);
    const stop = c.triggerSavepoint(dir.path, true);
    stop.catch(() => undefined);
    await within('the barrier', (async () => { while (attempt.barriers.length < 1) await new Promise((r) => setTimeout(r, 5)); })());
    c.decline(1, new Error('the sink refused'));
    await expect(stop).rejects.toThrow(/^Savepoint 1 was declined: the sink refused$/);
    // The job fails once the savepoint is aborted, after its caller has been told.
    await within('the job to fail', (async () => { while (failures.length < 1) await new Promise((r) => setTimeout(r, 5)); })());
    expect(failures.map((e) => e.message)).toEqual(['Savepoint 1 was declined: the sink refused']);
    await c.settle();
  });
});

describe('CheckpointCoordinator queue', () => {
  it('queues a manual checkpoint behind a pending one (max-concurrent 1) and starts it when the slot frees, as Flink', async () => {
    // The decline tolerated: one that fails the job starts nothing more (checkpoint-coordinator-failing.test.ts).
    const c = coordinator({ interval: null, maxConcurrent: 1, tolerableFailures: 1 });
    const attempt = silentAttempt();
    c.start(attempt);
    const first = c.triggerCheckpoint();
    first.catch(() => undefined);
    await within('the first barrier', (async () => { while (attempt.barriers.length < 1) await new Promise((r) => setTimeout(r, 5)); })());
    let secondSettled = false;
    const second = c.triggerCheckpoint();
    second.then(() => (secondSettled = true), () => (secondSettled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(attempt.barriers).toEqual([1]);
    expect(secondSettled).toBe(false);
    c.decline(1, new Error('declined by the test'));
    await expect(first).rejects.toThrow(/^Checkpoint 1 was declined: declined by the test$/);
    await within('the queued checkpoint to start', (async () => { while (attempt.barriers.length < 2) await new Promise((r) => setTimeout(r, 5)); })());
    expect(attempt.barriers).toEqual([1, 2]);
    const third = c.triggerCheckpoint();
    c.stop();
    await expect(second).rejects.toThrow(/^Checkpoint 2 was aborted: the job's attempt ended$/);
    await expect(third).rejects.toThrow(/the attempt ended before the queued checkpoint could start/);
    await c.settle();
  });
});

describe('CheckpointCoordinator before the tasks run', () => {
  it('skips periodic triggers and holds a savepoint until every subtask runs, then starts them', async () => {
    const c = coordinator({ interval: 20 });
    let markRunning!: () => void;
    const attempt = { ...silentAttempt(), running: new Promise<void>((resolve) => (markRunning = resolve)) };
    c.start(attempt);
    const savepoint = c.triggerSavepoint(dir.path);
    savepoint.catch(() => undefined);
    // Several intervals pass while the subtasks are still being deployed: no barrier may be lost to them.
    await new Promise((r) => setTimeout(r, 150));
    expect(attempt.barriers).toEqual([]);
    markRunning();
    await within('the held savepoint to start', (async () => { while (attempt.barriers.length < 1) await new Promise((r) => setTimeout(r, 5)); })());
    expect(attempt.barriers[0]).toBe(1);
    c.stop();
    await expect(savepoint).rejects.toThrow(/^Savepoint 1 was aborted: the job's attempt ended$/);
    await c.settle();
  });
});

describe('CheckpointCoordinator: why a pending snapshot ended, in words', () => {
  it.each([
    ['restarting', "Savepoint 1 was aborted: the job's attempt ended (it is restarting); try again once the job is RUNNING"],
    ['failed', 'Savepoint 1 was aborted: the job failed'],
    ['finished', 'Savepoint 1 was aborted: the job finished'],
    ['cancelled', 'Savepoint 1 was aborted: the job was cancelled'],
    ['stopped', 'Savepoint 1 was aborted: the job was stopped'],
  ] as const)('an attempt that ended as %s', async (ended, line) => {
    const c = coordinator({ interval: null });
    const attempt = silentAttempt();
    c.start(attempt);
    const savepoint = c.triggerSavepoint(dir.path);
    savepoint.catch(() => undefined);
    await within('the barrier', (async () => { while (attempt.barriers.length < 1) await new Promise((r) => setTimeout(r, 5)); })());
    c.stop(ended);
    await expect(savepoint.catch((err: unknown) => String(err instanceof Error ? err.message : err))).resolves.toBe(line);
    await c.settle();
  });
});

describe('CheckpointCoordinator progress of pending snapshots', () => {
  /** A data file with no blocks is its 16-byte header: `_metadata` checks the size against the blocks. */
  const ack = (checkpointId: number, subtask: number, size = 16): SubtaskAck => ({ checkpointId, chain: 0, subtask, file: { path: `data-${subtask}`, size }, operators: [], syncMs: 0, asyncMs: 0 });

  it('reports each pending snapshot at its trigger and at every acknowledgement, and drops it once it ends', async () => {
    const reports: (readonly SnapshotProgress[])[] = [];
    const completed: number[] = [];
    const c = new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, interval: null }, { jobId: 'b'.repeat(32), jobName: 'j' }, {}, {
      onPending: (pending) => void reports.push(pending),
      onCompleted: (stats) => void completed.push(stats.id),
    });
    const attempt = { ...silentAttempt(), subtaskCount: 3 };
    c.start(attempt);
    const savepoint = c.triggerSavepoint(dir.path);
    await within('the barrier', (async () => { while (attempt.barriers.length < 1) await new Promise((r) => setTimeout(r, 5)); })());
    c.acknowledge(ack(1, 0));
    c.acknowledge(ack(1, 1));
    c.acknowledge(ack(7, 2, 999)); // no such snapshot: no report
    c.acknowledge(ack(1, 2));
    await within('the savepoint to complete', savepoint);
    const figures = reports.map((list) => list.map((p) => ({ id: p.id, kind: p.kind, acknowledged: p.acknowledged, total: p.total, bytes: p.bytes })));
    expect(figures).toEqual([
      [{ id: 1, kind: 'savepoint', acknowledged: 0, total: 3, bytes: 0 }],
      [{ id: 1, kind: 'savepoint', acknowledged: 1, total: 3, bytes: 16 }],
      [{ id: 1, kind: 'savepoint', acknowledged: 2, total: 3, bytes: 32 }],
      // Every subtask acknowledged; still in progress while `_metadata` is written.
      [{ id: 1, kind: 'savepoint', acknowledged: 3, total: 3, bytes: 48 }],
      [],
    ]);
    expect(completed).toEqual([1]);
    const first = reports[0]![0]!;
    expect(first.latestAckAt).toBe(first.triggeredAt);
    expect(reports[2]![0]!.latestAckAt).toBeGreaterThanOrEqual(first.triggeredAt);
    await c.settle();
  });

  it('drops a declined snapshot and, when the attempt ends, every pending one', async () => {
    const reports: (readonly SnapshotProgress[])[] = [];
    const c = new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, interval: null, maxConcurrent: 2 }, { jobId: 'c'.repeat(32), jobName: 'j' }, {}, { onPending: (pending) => void reports.push(pending) });
    const attempt = silentAttempt();
    c.start(attempt);
    const first = c.triggerCheckpoint();
    const second = c.triggerSavepoint(dir.path);
    first.catch(() => undefined);
    second.catch(() => undefined);
    await within('both barriers', (async () => { while (attempt.barriers.length < 2) await new Promise((r) => setTimeout(r, 5)); })());
    expect(reports.at(-1)!.map((p) => [p.id, p.kind])).toEqual([[1, 'checkpoint'], [2, 'savepoint']]);
    c.decline(1, new Error('declined by the test'));
    await expect(first).rejects.toThrow(/declined/);
    expect(reports.at(-1)!.map((p) => p.id)).toEqual([2]);
    c.stop();
    await expect(second).rejects.toThrow(/^Savepoint 2 was aborted: the job's attempt ended$/);
    expect(reports.at(-1)).toEqual([]);
    await c.settle();
  });
});
