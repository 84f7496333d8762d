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
