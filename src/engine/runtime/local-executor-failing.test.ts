/**
 * An attempt that is failing, but whose subtasks have not stopped yet (one in a slow snapshot, or
 * in user code): the executor stops the checkpoint coordinator as soon as the failure is
 * decided, as Flink's scheduler stops the periodic checkpoints once the job leaves RUNNING. No
 * checkpoint is triggered for it any more, and what is pending is aborted at once with how the
 * attempt ended, not when the last subtask stopped. The attempt is a stand-in whose subtasks
 * stop when the test says; fake clock and timers, the checkpoint directories real.
 */
import { describe, expect, it, vi } from 'vitest';
import { useFakeTimeouts } from '../../../test/support/fake-timeouts.ts';
import { tempRootForFile } from '../../../test/support/temp-dir.ts';
import type { SnapshotStats } from '../checkpoint/checkpoint-coordinator.ts';
import { DataGeneratorSource } from '../connectors/data-generator-source.ts';
import { StreamExecutionEnvironment } from '../api/environment.ts';
import type { AttemptDeployment, DeployedAttempt } from './attempt-deployment.ts';
import { JobFailedError, startLocally } from './local-executor.ts';
import type { RestartStrategy } from './restart-strategy.ts';
import { TaskFailure } from './task-failure.ts';

const dir = tempRootForFile('tsflink-executor-failing-');
useFakeTimeouts();

/**
 * Attempts whose subtasks take barriers, never acknowledge them, and stop only when the test
 * calls `stopSubtasks` (as a task in a snapshot that outlives the timeout); `failTask` fails the
 * current one as a task's error would.
 */
function heldAttempts() {
  const barriers: number[][] = [];
  let current: { fail: (error: Error) => void; stop: () => void } | undefined;
  const deployment: AttemptDeployment = (): DeployedAttempt => {
    const mine: number[] = [];
    barriers.push(mine);
    let failure: Error | undefined;
    let rejectFailed!: (error: Error) => void;
    const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
    failed.catch(() => undefined);
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const done = stopped.then(() => {
      throw failure ?? new Error('stopped without a failure');
    });
    done.catch(() => undefined);
    const fail = (error: Error): void => {
      if (failure !== undefined) return;
      failure = error;
      rejectFailed(error);
    };
    current = { fail, stop };
    return {
      subtaskCount: 1,
      running: Promise.resolve(),
      injectBarrier: (id) => void mine.push(id),
      notifyComplete: () => undefined,
      notifyAborted: () => undefined,
      release: () => undefined,
      fail,
      failed,
      done,
      recordCounts: () => [],
    };
  };
  return { deployment, barriers, failTask: (error: Error) => current!.fail(error), stopSubtasks: () => current!.stop() };
}

let jobs = 0;
function start(held: ReturnType<typeof heldAttempts>, restartStrategy: RestartStrategy, tolerableFailures = 0) {
  jobs += 1;
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env.configureCheckpointing({ interval: 300, timeout: 2000, tolerableFailures, dir: `${dir.path}/${jobs}` });
  env.setRestartStrategy(restartStrategy);
  env.fromSource(new DataGeneratorSource({ count: 1, generate: (i) => i }), 'numbers').sinkTo({ invoke() {} });
  const failed: SnapshotStats[] = [];
  const client = startLocally(env.graph, { ...env.executionOptions('held'), deployment: held.deployment, events: { onFailed: (s) => void failed.push(s) } });
  client.result.catch(() => undefined);
  return { client, failed };
}

/** Lets real I/O and promise chains run (the fake clock stands still meanwhile). */
async function until(what: string, done: () => boolean): Promise<void> {
  // performance.now() is real: up to 20 s of it for the file operations, on a busy machine too.
  const deadline = performance.now() + 20_000;
  while (!done() && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`${what} did not happen`);
}

describe('an attempt that is failing while its subtasks have not stopped', () => {
  it('failed by an expired checkpoint (none tolerated): no checkpoint after it, a pending savepoint aborted at once, the job failed once the subtasks stop', async () => {
    const held = heldAttempts();
    const { client, failed } = start(held, { type: 'none' });
    await vi.advanceTimersByTimeAsync(300);
    await until('the first barrier', () => held.barriers[0]?.length === 1);
    const savepoint = client.triggerSavepoint(`${dir.path}/savepoints`);
    let savepointError: Error | undefined;
    savepoint.catch((e: Error) => (savepointError = e));
    await until('the savepoint’s barrier', () => held.barriers[0]?.length === 2);
    // Checkpoint 1 expires at 2300 ms; the savepoint would at 2300 + the time its directory took to open.
    await vi.advanceTimersByTimeAsync(2000);
    await until('the savepoint to be aborted', () => savepointError !== undefined);
    expect(savepointError?.message).toBe('Savepoint 2 was aborted: the job failed');
    // The subtasks are still in their snapshot: twenty intervals and as many timeouts go by.
    await vi.advanceTimersByTimeAsync(40_000);
    expect(held.barriers).toEqual([[1, 2]]);
    expect(failed.map((f) => f.id)).toEqual([1]);
    held.stopSubtasks();
    const error = await client.result.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).failure).toMatch(/^Exceeded checkpoint tolerable failure threshold\. The latest checkpoint failed due to: Checkpoint 1 expired before completing: .* \(not restarted: the restart strategy is none\)$/);
    expect(client.status()).toBe('FAILED');
  });

  it("failed by a task: no checkpoint after it, and a pending one aborted at once saying it restarts", async () => {
    const held = heldAttempts();
    const { client } = start(held, { type: 'fixed-delay', attempts: 1, delayMs: 1000 });
    const manual = client.triggerCheckpoint();
    let manualError: Error | undefined;
    manual.catch((e: Error) => (manualError = e));
    await until('the checkpoint’s barrier', () => held.barriers[0]?.length === 1);
    held.failTask(new TaskFailure('Map (1/1)', new Error('boom')));
    await until('the checkpoint to be aborted', () => manualError !== undefined);
    expect(manualError?.message).toBe("Checkpoint 1 was aborted: the job's attempt ended (it is restarting); try again once the job is RUNNING");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(held.barriers).toEqual([[1]]);
    // The next attempt checkpoints again, from its first interval.
    held.stopSubtasks();
    await until('the restart', () => client.status() === 'RESTARTING');
    await vi.advanceTimersByTimeAsync(1000); // the restart delay
    await until('the next attempt', () => held.barriers.length === 2);
    await vi.advanceTimersByTimeAsync(300);
    await until('the next attempt’s barrier', () => held.barriers[1]?.length === 1);
    expect(held.barriers).toEqual([[1], [2]]);
    const cancelled = client.cancel();
    held.stopSubtasks();
    await cancelled;
    expect(client.status()).toBe('CANCELED');
  });

  it('cancelled while RESTARTING: CANCELED at once, without waiting out the restart delay, and no attempt starts', async () => {
    const held = heldAttempts();
    const { client } = start(held, { type: 'fixed-delay', attempts: 1, delayMs: 60_000 });
    await until('the first attempt', () => held.barriers.length === 1);
    held.failTask(new TaskFailure('Map (1/1)', new Error('boom')));
    held.stopSubtasks();
    await until('the restart', () => client.status() === 'RESTARTING');
    // The fake clock stands still: only the cancel can end the delay.
    await client.cancel();
    expect(client.status()).toBe('CANCELED');
    expect((await client.result).status).toBe('CANCELED');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(held.barriers.length).toBe(1);
    expect(client.status()).toBe('CANCELED');
  });
});
