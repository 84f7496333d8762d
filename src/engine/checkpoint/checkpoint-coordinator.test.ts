/**
 * The coordinator's timers, over a stand-in attempt whose subtasks never acknowledge: the first
 * periodic checkpoint comes after Flink's random initial delay, and a pending snapshot expires at
 * its timeout even when no periodic checkpoints run (Flink's checkpoint canceller).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { type CheckpointConfig, defaultCheckpointConfig } from './checkpoint-config.ts';
import { type AttemptHandle, CheckpointCoordinator } from './checkpoint-coordinator.ts';

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

function coordinator(config: Partial<CheckpointConfig>, random: () => number): CheckpointCoordinator {
  return new CheckpointCoordinator({ ...defaultCheckpointConfig, dir: dir.path, ...config }, { jobId: 'a'.repeat(32), jobName: 'j' }, {}, {}, undefined, random);
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

describe('CheckpointCoordinator timers', () => {
  it('triggers the first periodic checkpoint after a random delay in [minPause, interval], not after a whole interval', async () => {
    const c = coordinator({ interval: 3_600_000, tolerableFailures: 100 }, () => 0);
    const attempt = silentAttempt();
    c.start(attempt);
    await within(
      'the first periodic checkpoint',
      (async () => {
        while (attempt.barriers.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
    expect(attempt.barriers).toEqual([1]);
    await c.settle();
  });

  it('expires a pending savepoint at its timeout without periodic checkpoints', async () => {
    const c = coordinator({ interval: null, timeout: 50 }, () => 0);
    const attempt = silentAttempt();
    c.start(attempt);
    const savepoint = c.triggerSavepoint(dir.path);
    await expect(within('the savepoint to expire', savepoint)).rejects.toThrow(/^Savepoint 1 failed: expired/);
    expect(attempt.aborted).toEqual([1]);
    await c.settle();
  });
});
