/**
 * max-concurrent while a snapshot's directory opens (slow on S3): the coordinator counts such a
 * checkpoint as in flight, and releases that count on every way out of the open (opened, failed,
 * timed out, the attempt ended). Fake clock and timers; the directories are real, and each open
 * waits for the test to let it return.
 */
import { describe, expect, it, vi } from 'vitest';
import { useFakeTimeouts } from '../../../test/support/fake-timeouts.ts';
import { tempRootForFile } from '../../../test/support/temp-dir.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { openStore } from '../../storage/open-store.ts';
import type { SubtaskAck } from '../runtime/subtask.ts';
import { type CheckpointConfig, defaultCheckpointConfig } from './checkpoint-config.ts';
import { type AttemptHandle, CheckpointCoordinator, type CoordinatorEvents, type SnapshotStats } from './checkpoint-coordinator.ts';

const dir = tempRootForFile('tsflink-coordinator-opening-');
useFakeTimeouts();

/** An attempt whose one subtask takes barriers and acknowledges only when the test says. */
function attempt(): AttemptHandle & { readonly barriers: number[] } {
  const barriers: number[] = [];
  return { barriers, nodes: [], subtaskCount: 1, canCheckpoint: () => true, injectBarrier: (id) => void barriers.push(id), notifyComplete: () => undefined, notifyAborted: () => undefined, fail: () => undefined };
}

/** Opens that return only when the test releases (or fails) them, by order of call. */
function gatedOpens() {
  const calls: { location: string; release: () => void; fail: (error: Error) => void }[] = [];
  const open = (location: string): Promise<ObjectStore> =>
    new Promise<ObjectStore>((resolve, reject) => {
      calls.push({ location, release: () => resolve(openStore(location)), fail: reject });
    });
  return { open, calls };
}

let jobs = 0;
/** The id of the job the latest coordinator() was made for. */
const latestJobId = (): string => String(jobs).padStart(32, '0');
function coordinator(config: Partial<CheckpointConfig>, open: (location: string) => Promise<ObjectStore>, events: CoordinatorEvents = {}): CheckpointCoordinator {
  jobs += 1;
  return new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, minPause: 0, maxConcurrent: 1, ...config }, { jobId: latestJobId(), jobName: 'j' }, {}, events, undefined, open);
}

/** Lets real I/O and promise chains run (the fake clock stands still meanwhile). */
async function until(what: string, done: () => boolean): Promise<void> {
  // performance.now() is real: up to 20 s of it for the file writes, on a busy machine too.
  const deadline = performance.now() + 20_000;
  while (!done() && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`${what} did not happen`);
}

/** Lets every open return (settle() waits for a periodic trigger's open), then settles. */
async function finish(c: CheckpointCoordinator, calls: ReturnType<typeof gatedOpens>['calls']): Promise<void> {
  for (const call of calls) call.release();
  await c.settle();
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** A data file with no blocks is its 16-byte header. */
const ack = (checkpointId: number): SubtaskAck => ({ checkpointId, chain: 0, subtask: 0, file: { path: 'data-0', size: 16 }, operators: [], syncMs: 0, asyncMs: 0 });

describe('CheckpointCoordinator: max-concurrent counts a checkpoint whose directory is opening', () => {
  it('starts no second checkpoint on the ticks while the first opens, nor while it is pending', async () => {
    const { open, calls } = gatedOpens();
    const c = coordinator({ interval: 10 }, open);
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200); // 20 intervals
    expect(calls).toHaveLength(1);
    calls[0]!.release();
    await until('the first barrier', () => a.barriers.length === 1);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(1);
    expect(a.barriers).toEqual([1]);
    await finish(c, calls);
  });

  it('starts the queued periodic checkpoint as soon as the first completes, not an interval or a timeout later', async () => {
    const { open, calls } = gatedOpens();
    const c = coordinator({ interval: 1000 }, open);
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(1500); // the tick at 2000 finds it opening and queues
    expect(calls).toHaveLength(1);
    calls[0]!.release();
    await until('the first barrier', () => a.barriers.length === 1);
    c.acknowledge(ack(1));
    await until('checkpoint 1 to complete', () => c.completedCount === 1);
    await vi.advanceTimersByTimeAsync(1); // not to 3000
    expect(calls.map((call) => call.location.slice(-6))).toEqual(['/chk-1', '/chk-2']);
    await finish(c, calls);
  });

  it('waits min-pause after a completion, and the checkpoint then opening holds off the ticks after it', async () => {
    const { open, calls } = gatedOpens();
    const c = coordinator({ interval: 10, minPause: 50 }, open);
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(50); // the interval is max(interval, minPause)
    expect(calls).toHaveLength(1);
    calls[0]!.release();
    await until('the first barrier', () => a.barriers.length === 1);
    c.acknowledge(ack(1));
    await until('checkpoint 1 to complete', () => c.completedCount === 1);
    const completedAt = Date.now();
    await vi.advanceTimersByTimeAsync(49);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    expect(Date.now() - completedAt).toBe(50);
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toHaveLength(2);
    await finish(c, calls);
  });

  it('frees the slot when an open fails: the queued tick starts the next at once', async () => {
    const { open, calls } = gatedOpens();
    // Tolerated: a failure that fails the job starts nothing more (checkpoint-coordinator-failing.test.ts).
    const c = coordinator({ interval: 1000, tolerableFailures: 1 }, open);
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(2500);
    expect(calls).toHaveLength(1);
    calls[0]!.fail(new Error('S3 said no'));
    await flush();
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    calls[1]!.release();
    await until('the second barrier', () => a.barriers.length === 1);
    expect(a.barriers).toEqual([2]);
    await finish(c, calls);
  });

  it('stops counting an open at the checkpoint timeout (an open that never returns), and a late open then starts nothing', async () => {
    const { open, calls } = gatedOpens();
    const c = coordinator({ interval: 10, timeout: 100, tolerableFailures: 1 }, open);
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(10);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toHaveLength(1);
    // Its timer frees the slot at 100 ms; the queued tick runs 1 ms later (a timer of 0 is 1 ms, as in Node).
    await vi.advanceTimersByTimeAsync(2);
    expect(calls).toHaveLength(2);
    calls[1]!.release();
    await until('the second barrier', () => a.barriers.length === 1);
    calls[0]!.release(); // too late: it expired
    await vi.advanceTimersByTimeAsync(50);
    expect(a.barriers).toEqual([2]);
    expect(c.pendingSnapshots()).toEqual([{ checkpointId: 2, savepoint: false }]);
    expect(calls).toHaveLength(2);
    await finish(c, calls);
  });

  it('reports a checkpoint whose directory did not open as failed (storage), and counts it toward the tolerable failures', async () => {
    const { open, calls } = gatedOpens();
    const failed: SnapshotStats[] = [];
    const c = coordinator({ interval: 1000, tolerableFailures: 1 }, open, { onFailed: (s) => void failed.push(s) });
    const failures: Error[] = [];
    const a = { ...attempt(), fail: (e: Error) => void failures.push(e) };
    c.start(a);
    await vi.advanceTimersByTimeAsync(1000);
    calls[0]!.fail(new Error('S3 said no'));
    await flush();
    expect(failed.map((f) => [f.id, f.failure])).toEqual([[1, 'Checkpoint failed: IO-problem detected: S3 said no']]);
    expect(failures).toEqual([]); // one tolerated
    await vi.advanceTimersByTimeAsync(1000);
    calls[1]!.fail(new Error('S3 said no again'));
    await flush();
    expect(failed.map((f) => f.id)).toEqual([1, 2]);
    expect(failures.map((e) => e.message)).toEqual([
      'Exceeded checkpoint tolerable failure threshold. The latest checkpoint failed due to: Checkpoint 2 failed: IO-problem detected: S3 said no again. ' +
        `View the checkpoint history (GET /jobs/${latestJobId()}/checkpoints, or the web dashboard's checkpoints page) to find out why continuous checkpoints failed.`,
    ]);
    await finish(c, calls);
  });

  it('reports a checkpoint whose directory did not open within the timeout as expired, once, and counts it', async () => {
    const { open, calls } = gatedOpens();
    const failed: SnapshotStats[] = [];
    const c = coordinator({ interval: 10, timeout: 100 }, open, { onFailed: (s) => void failed.push(s) });
    const failures: Error[] = [];
    const a = { ...attempt(), fail: (e: Error) => void failures.push(e) };
    c.start(a);
    await vi.advanceTimersByTimeAsync(10);
    await vi.advanceTimersByTimeAsync(99);
    expect(failed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(failed.map((f) => [f.id, f.failure])).toEqual([[1, 'Checkpoint expired before completing: its directory did not open within execution.checkpointing.timeout (100 ms).']]);
    expect(failures.map((e) => e.message)).toEqual([
      'Exceeded checkpoint tolerable failure threshold. The latest checkpoint failed due to: Checkpoint 1 expired before completing: its directory did not open within execution.checkpointing.timeout (100 ms). ' +
        `View the checkpoint history (GET /jobs/${latestJobId()}/checkpoints, or the web dashboard's checkpoints page) to find out why continuous checkpoints failed.`,
    ]);
    calls[0]!.release(); // too late: no second report
    await flush();
    expect(failed.map((f) => f.id)).toEqual([1]);
    await finish(c, calls);
  });

  it('forgets an open of an attempt that ended: the next attempt checkpoints on its first tick, and the late open injects nothing', async () => {
    const { open, calls } = gatedOpens();
    const c = coordinator({ interval: 10 }, open);
    const first = attempt();
    c.start(first);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(1);
    // The job failed and restarted (or was cancelled and resubmitted in this process) while checkpoint 1 opened.
    c.stop();
    const second = attempt();
    c.start(second);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toHaveLength(2);
    calls[0]!.release();
    calls[1]!.release();
    await until('the new attempt’s barrier', () => second.barriers.length === 1);
    await vi.advanceTimersByTimeAsync(100);
    expect(first.barriers).toEqual([]);
    expect(second.barriers).toEqual([2]);
    expect(c.pendingSnapshots()).toEqual([{ checkpointId: 2, savepoint: false }]);
    expect(calls).toHaveLength(2);
    await finish(c, calls);
  });

  it('lets a savepoint start beside an opening checkpoint (forced), queues a manual checkpoint behind them, and ticks start nothing', async () => {
    const { open, calls } = gatedOpens();
    const c = coordinator({ interval: 10 }, open);
    const a = attempt();
    c.start(a);
    await vi.advanceTimersByTimeAsync(10);
    const savepoint = c.triggerSavepoint(dir.path);
    await until('the savepoint’s open', () => calls.length === 2);
    let manualStarted = false;
    const manual = c.triggerCheckpoint();
    void manual.then(() => (manualStarted = true), () => (manualStarted = true));
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(2);
    calls[0]!.release();
    calls[1]!.release();
    await until('both barriers', () => a.barriers.length === 2);
    expect([...a.barriers].sort()).toEqual([1, 2]);
    c.acknowledge(ack(2));
    await expect(savepoint).resolves.toMatch(/savepoint-/);
    c.acknowledge(ack(1));
    await until('checkpoint 1 to complete', () => c.completedCount === 1);
    // The slot freed: the queued manual checkpoint goes first.
    await until('the manual checkpoint’s open', () => calls.length === 3);
    expect(manualStarted).toBe(false);
    expect(calls[2]!.location).toMatch(/\/chk-3$/);
    calls[2]!.release();
    await until('its barrier', () => a.barriers.length === 3);
    c.acknowledge(ack(3));
    await expect(manual).resolves.toMatch(/\/chk-3$/);
    await finish(c, calls);
  });
});
