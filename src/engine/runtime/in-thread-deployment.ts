/**
 * The in-process TaskManager: every subtask of the attempt in this thread, channels as local
 * queues of encoded batches. `env.execute()` and the tests run jobs this way.
 */
import { localRecoveryOf } from '../checkpoint/local-recovery.ts';
import type { AttemptSpec, DeployedAttempt } from './attempt-deployment.ts';
import { LocalChannel } from './channel.ts';
import { CancelledError, type Subtask } from './subtask.ts';
import { wireSubtasks } from './subtask-wiring.ts';
import { TaskFailure } from './task-failure.ts';

export function deployInThread(spec: AttemptSpec): DeployedAttempt {
  const { options } = spec;
  const channels = new Map<string, LocalChannel>();
  const channel = (edge: number, from: number, to: number): LocalChannel => {
    const key = `${edge}/${from}/${to}`;
    let c = channels.get(key);
    if (c === undefined) channels.set(key, (c = new LocalChannel(options.channelCapacity ?? 8)));
    return c;
  };
  const subtasks = wireSubtasks({
    jobId: spec.jobId,
    plan: spec.plan,
    chains: spec.chains,
    attempt: spec.attempt,
    mode: spec.mode,
    checkpointing: (options.checkpoint?.interval ?? null) !== null,
    localRecovery: localRecoveryOf(options.checkpoint, spec.jobId),
    incremental: options.checkpoint?.incremental === true ? { buildOnRestore: spec.buildOnRestore === true } : undefined,
    ...(options.stateBackend === undefined ? {} : { stateBackend: options.stateBackend }),
    ...(options.stateBackendOptions === undefined ? {} : { stateBackendOptions: options.stateBackendOptions }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    restore: spec.restore,
    runsHere: () => true,
    channels: { sender: channel, receiver: channel },
    coordination: {
      ...spec.coordination,
      finished: (key) => {
        finished.add(`${key.chain}/${key.index}`);
        spec.coordination.finished(key);
      },
    },
  });
  const finished = new Set<string>();
  const isFinished = (s: Subtask): boolean => finished.has(`${s.chainId}/${s.index}`);
  let failAttempt: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (failAttempt = reject));
  failed.catch(() => undefined);
  const runs = subtasks.map((s) =>
    s.run().then(
      () => undefined,
      // The task it failed in goes with the error, as in Flink's `Map (2/4)` failures.
      (err: unknown) => failAttempt(err instanceof CancelledError ? err : new TaskFailure(s.name, err)),
    ),
  );
  const done = (async (): Promise<void> => {
    try {
      await Promise.race([Promise.all(runs), failed]);
    } catch (err) {
      for (const s of subtasks) s.cancel();
      for (const c of channels.values()) c.close();
      await Promise.allSettled(runs);
      throw err;
    }
  })();
  done.catch(() => undefined);
  return {
    subtaskCount: subtasks.length,
    running: Promise.resolve(),
    injectBarrier: (checkpointId, savepoint, drain) => {
      for (const s of subtasks) if (s.isSource || isFinished(s)) s.triggerCheckpoint({ checkpointId, savepoint, ...(drain ? { drain } : {}) });
    },
    notifyComplete: (id) => subtasks.forEach((s) => s.notifyCheckpointComplete(id)),
    notifyAborted: (id) => subtasks.forEach((s) => s.notifyCheckpointAborted(id)),
    release: () => subtasks.forEach((s) => s.release()),
    fail: (error) => failAttempt(error),
    failed,
    done,
    recordCounts: () => subtasks.map((s) => ({ index: s.index, counts: s.recordCounts() })),
  };
}
