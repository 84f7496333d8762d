/**
 * Flink's stopCheckpointScheduler / startCheckpointScheduler around a cancel-with-savepoint: while
 * paused, no periodic checkpoint starts (none can complete, and commit, past the savepoint the job
 * is cancelled at); a savepoint still does; resumed, the next one comes an interval later. Fake
 * clock and timers; the directories are real.
 */
import { describe, expect, it, vi } from 'vitest';
import { useFakeTimeouts } from '../../../test/support/fake-timeouts.ts';
import { tempRootForFile } from '../../../test/support/temp-dir.ts';
import { defaultCheckpointConfig } from './checkpoint-config.ts';
import { type AttemptHandle, CheckpointCoordinator } from './checkpoint-coordinator.ts';

const dir = tempRootForFile('tsflink-coordinator-pause-');
useFakeTimeouts();

/** An attempt whose one subtask takes barriers and never acknowledges. */
function attempt(): AttemptHandle & { readonly barriers: number[] } {
  const barriers: number[] = [];
  return { barriers, nodes: [], subtaskCount: 1, canCheckpoint: () => true, injectBarrier: (id) => void barriers.push(id), notifyComplete: () => undefined, notifyAborted: () => undefined, fail: () => undefined };
}

let jobs = 0;
function coordinator(interval: number, maxConcurrent = 1): CheckpointCoordinator {
  jobs += 1;
  return new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, interval, minPause: 0, maxConcurrent }, { jobId: String(jobs).padStart(32, '0'), jobName: 'j' }, {}, {});
}

/** Lets real I/O and promise chains run (the fake clock stands still meanwhile). */
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!done() && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`${what} did not happen`);
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('CheckpointCoordinator.pausePeriodic / resumePeriodic', () => {
  it('paused: no periodic checkpoint over many intervals, a savepoint still starts; resumed: the next one an interval later', async () => {
    const c = coordinator(10, 5);
    const a = attempt();
    c.start(a);
    c.pausePeriodic();
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    expect(a.barriers).toEqual([]);
    const savepoint = c.triggerSavepoint(`${dir.path}/sp`, false, false, 'canonical');
    savepoint.catch(() => undefined);
    await until('the savepoint barrier', () => a.barriers.length === 1);
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    expect(a.barriers).toEqual([1]);
    c.resumePeriodic();
    await vi.advanceTimersByTimeAsync(9);
    await flush();
    expect(a.barriers).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    await until('a periodic barrier after the resume', () => a.barriers.length === 2);
    c.stop();
    await c.settle();
  });
});
