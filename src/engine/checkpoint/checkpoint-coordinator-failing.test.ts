/**
 * The coordinator failing the attempt (a checkpoint failure past execution.checkpointing.
 * tolerable-failed-checkpoints): from then on it starts no snapshot for that attempt, whether a
 * periodic tick, a tick queued for a free slot or a request, as Flink stops its periodic
 * scheduler once the job leaves RUNNING. The stand-in attempt never stops the coordinator (the
 * executor does that once the attempt's failure is decided), so only the coordinator's own
 * decision is tested here. Fake clock and timers; the checkpoint directories are real.
 */
import { describe, expect, it, vi } from 'vitest';
import { useFakeTimeouts } from '../../../test/support/fake-timeouts.ts';
import { tempRootForFile } from '../../../test/support/temp-dir.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { openStore } from '../../storage/open-store.ts';
import { type CheckpointConfig, defaultCheckpointConfig } from './checkpoint-config.ts';
import { type AttemptHandle, CheckpointCoordinator, type SnapshotStats } from './checkpoint-coordinator.ts';

const dir = tempRootForFile('tsflink-coordinator-failing-');
useFakeTimeouts();

/** An attempt whose one subtask takes barriers and never acknowledges; it records the failures it is given. */
function attempt(): AttemptHandle & { readonly barriers: number[]; readonly failures: string[] } {
  const barriers: number[] = [];
  const failures: string[] = [];
  return {
    barriers,
    failures,
    nodes: [],
    subtaskCount: 1,
    canCheckpoint: () => true,
    injectBarrier: (id) => void barriers.push(id),
    notifyComplete: () => undefined,
    notifyAborted: () => undefined,
    fail: (e) => void failures.push(e.message),
  };
}

let jobs = 0;
/** `opened`: each snapshot's directory name as it is triggered (its open starts then, before any I/O). */
function coordinator(config: Partial<CheckpointConfig>, onFailed: (s: SnapshotStats) => void = () => undefined): { c: CheckpointCoordinator; opened: string[] } {
  jobs += 1;
  const opened: string[] = [];
  const open = (location: string): Promise<ObjectStore> => {
    opened.push(location.slice(location.lastIndexOf('/') + 1).replace(/^savepoint-.*/, 'savepoint'));
    return openStore(location);
  };
  const c = new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, minPause: 0, maxConcurrent: 1, tolerableFailures: 0, ...config }, { jobId: String(jobs).padStart(32, '0'), jobName: 'j' }, {}, { onFailed }, undefined, open);
  return { c, opened };
}

/** Lets real I/O and promise chains run (the fake clock stands still meanwhile). */
async function until(what: string, done: () => boolean): Promise<void> {
  // performance.now() is real: up to 20 s of it for the file operations, on a busy machine too.
  const deadline = performance.now() + 20_000;
  while (!done() && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`${what} did not happen`);
}

describe('CheckpointCoordinator: once it failed the attempt', () => {
  it('triggers nothing more for it: not the tick queued behind the expired checkpoint, nor later ticks, nor requests', async () => {
    const failed: SnapshotStats[] = [];
    const { c, opened } = coordinator({ interval: 10, timeout: 100 }, (s) => void failed.push(s));
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(10);
    await until('the first barrier', () => a.barriers.length === 1);
    // The ticks meanwhile queue for the slot checkpoint 1 holds; it expires at 110 ms.
    await vi.advanceTimersByTimeAsync(100);
    await until('the job to fail', () => a.failures.length === 1);
    expect(a.failures[0]).toMatch(/^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Checkpoint 1 expired before completing/);
    // Its abort freed the slot the queued tick waited for, and the interval goes on: a hundred intervals.
    await vi.advanceTimersByTimeAsync(1000);
    expect(opened).toEqual(['chk-1']);
    await expect(c.triggerCheckpoint()).rejects.toThrow(/is not running/);
    await expect(c.triggerSavepoint(dir.path)).rejects.toThrow(/is not running/);
    expect(opened).toEqual(['chk-1']);
    expect(a.barriers).toEqual([1]);
    expect(failed.map((f) => f.id)).toEqual([1]);
    expect(a.failures).toHaveLength(1);
    // The next attempt checkpoints again.
    const next = attempt();
    c.start(next);
    await vi.advanceTimersByTimeAsync(10);
    await until('the next attempt’s barrier', () => next.barriers.length === 1);
    expect(next.barriers).toEqual([2]);
    await c.settle();
  });

  it('rejects a manual checkpoint queued behind the failed one instead of starting it', async () => {
    const { c, opened } = coordinator({ interval: null, timeout: 100 });
    const a = attempt();
    c.start(a);
    const first = c.triggerCheckpoint();
    first.catch(() => undefined);
    await until('the first barrier', () => a.barriers.length === 1);
    const queued = c.triggerCheckpoint();
    queued.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(100);
    await expect(first).rejects.toThrow(/^Checkpoint 1 expired before completing/);
    await until('the job to fail', () => a.failures.length === 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(opened).toEqual(['chk-1']);
    await expect(queued).rejects.toThrow(/the attempt ended before the queued checkpoint could start/);
    expect(a.barriers).toEqual([1]);
    await c.settle();
  });
});

/**
 * Savepoints and the tolerable-failure count, as Flink's CheckpointFailureManager: a savepoint
 * failure the JobManager finds (expiry, storage) never counts (handleJobLevelCheckpointException
 * skips savepoints: a failover would not help); one a task reports (a decline) counts as a
 * checkpoint's does (handleTaskLevelCheckpointException: only a synchronous savepoint, a stop,
 * fails the job at once); a completed savepoint resets the count, as any completed snapshot
 * (CheckpointCoordinator.reportCompletedCheckpoint -> handleCheckpointSuccess).
 */
describe('CheckpointCoordinator: savepoint failures and execution.checkpointing.tolerable-failed-checkpoints', () => {
  it('an expired savepoint fails the savepoint only: with 0 tolerated the attempt runs on and the next checkpoint failure is the first counted', async () => {
    const { c } = coordinator({ interval: null, timeout: 100, tolerableFailures: 0 });
    const a = attempt();
    c.start(a);
    const savepoint = c.triggerSavepoint(dir.path);
    savepoint.catch(() => undefined);
    await until('the savepoint barrier', () => a.barriers.length === 1);
    await vi.advanceTimersByTimeAsync(100);
    await expect(savepoint).rejects.toThrow(/^Savepoint 1 expired before completing: it took longer than execution\.checkpointing\.timeout \(100 ms\)\.$/);
    expect(a.failures).toEqual([]);
    // Not suspended: the next snapshot starts, and its failure is the one that exceeds 0.
    const checkpoint = c.triggerCheckpoint();
    checkpoint.catch(() => undefined);
    await until('the checkpoint barrier', () => a.barriers.length === 2);
    await vi.advanceTimersByTimeAsync(100);
    await until('the job to fail', () => a.failures.length === 1);
    expect(a.failures[0]).toMatch(/^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Checkpoint 2 expired/);
    await c.settle();
  });

  it('a savepoint declined by a task counts as a checkpoint would, and an ignored savepoint failure does not reset the count', async () => {
    const { c } = coordinator({ interval: null, timeout: 100, tolerableFailures: 1 });
    const a = attempt();
    c.start(a);
    const first = c.triggerCheckpoint();
    first.catch(() => undefined);
    await until('the first barrier', () => a.barriers.length === 1);
    c.decline(1, new Error('the sink refused'));
    await expect(first).rejects.toThrow(/^Checkpoint 1 was declined: the sink refused$/);
    // Expired: not counted, and no success either, so the count stays at 1.
    const expiring = c.triggerSavepoint(dir.path);
    expiring.catch(() => undefined);
    await until('the second barrier', () => a.barriers.length === 2);
    await vi.advanceTimersByTimeAsync(100);
    await expect(expiring).rejects.toThrow(/^Savepoint 2 expired/);
    expect(a.failures).toEqual([]);
    const declined = c.triggerSavepoint(dir.path);
    declined.catch(() => undefined);
    await until('the third barrier', () => a.barriers.length === 3);
    c.decline(3, new Error('no space left on device'));
    await expect(declined).rejects.toThrow(/^Savepoint 3 was declined: no space left on device$/);
    await until('the job to fail', () => a.failures.length === 1);
    expect(a.failures[0]).toMatch(/^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Savepoint 3 was declined: no space left on device\./);
    await c.settle();
  });

  it('a completed savepoint resets the count', async () => {
    const { c } = coordinator({ interval: null, timeout: 100, tolerableFailures: 1 });
    const a = attempt();
    c.start(a);
    const first = c.triggerCheckpoint();
    first.catch(() => undefined);
    await until('the first barrier', () => a.barriers.length === 1);
    c.decline(1, new Error('the sink refused'));
    await expect(first).rejects.toThrow(/declined/);
    const savepoint = c.triggerSavepoint(dir.path);
    await until('the savepoint barrier', () => a.barriers.length === 2);
    c.acknowledge({ checkpointId: 2, chain: 0, subtask: 0, file: { path: 'data-0', size: 16 }, operators: [], syncMs: 0, asyncMs: 0 });
    await expect(savepoint).resolves.toMatch(/savepoint-/);
    // One failure tolerated again: this decline is counted, not the second in a row.
    const third = c.triggerCheckpoint();
    third.catch(() => undefined);
    await until('the third barrier', () => a.barriers.length === 3);
    c.decline(3, new Error('the sink refused'));
    await expect(third).rejects.toThrow(/declined/);
    // Had it failed the attempt, the coordinator would refuse the next snapshot (decided before its callers hear).
    let refused: string | undefined;
    const fourth = c.triggerCheckpoint();
    fourth.catch((err: unknown) => void (refused = err instanceof Error ? err.message : String(err)));
    await until('the fourth barrier or its refusal', () => a.barriers.length === 4 || refused !== undefined);
    expect(refused).toBeUndefined();
    expect(a.failures).toEqual([]);
    await c.settle();
  });
});

describe('CheckpointCoordinator: why a task declined', () => {
  it.each([
    ['declined-subsumed', 'checkpoint overtaken by a newer barrier'],
    ['declined-on-cancellation-barrier', 'a cancellation of the checkpoint came from one of its inputs'],
  ] as const)('%s is not counted (Flink ignores CHECKPOINT_DECLINED_SUBSUMED and _ON_CANCELLATION_BARRIER): with 0 tolerated the attempt runs on', async (why, text) => {
    const { c } = coordinator({ interval: null, timeout: 100, tolerableFailures: 0 });
    const a = attempt();
    c.start(a);
    const first = c.triggerCheckpoint();
    first.catch(() => undefined);
    await until('the first barrier', () => a.barriers.length === 1);
    c.decline(1, new Error(text), why);
    await expect(first).rejects.toThrow(`Checkpoint 1 was declined: ${text}`);
    let refused: string | undefined;
    const second = c.triggerCheckpoint();
    second.catch((err: unknown) => void (refused = err instanceof Error ? err.message : String(err)));
    await until('the second barrier or its refusal', () => a.barriers.length === 2 || refused !== undefined);
    expect(refused).toBeUndefined();
    // A plain decline is counted: 0 tolerated fails the attempt.
    c.decline(2, new Error('the sink refused'));
    await until('the job to fail', () => a.failures.length === 1);
    expect(a.failures[0]).toMatch(/^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Checkpoint 2 was declined: the sink refused/);
    await c.settle();
  });
});

describe("CheckpointCoordinator: a task's asynchronous part failing", () => {
  it("fails the snapshot with Flink's CHECKPOINT_ASYNC_EXCEPTION text, in the caller's line and the history, and counts as a decline does", async () => {
    const failed: SnapshotStats[] = [];
    const { c } = coordinator({ interval: null, timeout: 100, tolerableFailures: 1 }, (s) => void failed.push(s));
    const a = attempt();
    c.start(a);
    const savepoint = c.triggerSavepoint(dir.path);
    savepoint.catch(() => undefined);
    await until('the savepoint barrier', () => a.barriers.length === 1);
    c.decline(1, new Error('/data/sp/data-0: no space left on device'), 'async-failure');
    await expect(savepoint).rejects.toThrow(/^Asynchronous task savepoint 1 failed: \/data\/sp\/data-0: no space left on device$/);
    expect(a.failures).toEqual([]);
    const checkpoint = c.triggerCheckpoint();
    checkpoint.catch(() => undefined);
    await until('the checkpoint barrier', () => a.barriers.length === 2);
    c.decline(2, new Error('/data/chk-2/data-0: input/output error'), 'async-failure');
    await expect(checkpoint).rejects.toThrow(/^Asynchronous task checkpoint 2 failed: \/data\/chk-2\/data-0: input\/output error$/);
    // REST's failure_message (the entry carries the id), after Flink's "Asynchronous task checkpoint failed.".
    expect(failed.map((s) => s.failure)).toEqual(['Asynchronous task savepoint failed: /data/sp/data-0: no space left on device', 'Asynchronous task checkpoint failed: /data/chk-2/data-0: input/output error']);
    // The second in a row with one tolerated: counted, as Flink counts CHECKPOINT_ASYNC_EXCEPTION.
    await until('the job to fail', () => a.failures.length === 1);
    expect(a.failures[0]).toMatch(/^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Asynchronous task checkpoint 2 failed: \/data\/chk-2\/data-0: input\/output error\./);
    await c.settle();
  });
});
