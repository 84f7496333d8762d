/**
 * Places an attempt's subtasks in task slots, one worker thread each, so that a job at
 * parallelism p uses up to p cores. Subtask i of every chain runs in slot i mod slots (Flink's
 * slot sharing: one slot holds a pipeline of subtasks); channels within a slot are local queues,
 * between slots credit-based channels over MessagePorts. The coordinator stays on this side:
 * it tells every slot where a snapshot goes before injecting barriers, and gets the slots'
 * acknowledgements back.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { UserError } from '../../../errors.ts';
import type { AttemptDeployment, AttemptSpec, DeployedAttempt, SubtaskCounts } from '../../runtime/attempt-deployment.ts';
import { deployInThread } from '../../runtime/in-thread-deployment.ts';
import { CancelledError } from '../../runtime/subtask.ts';
import { TaskFailure } from '../../runtime/task-failure.ts';
import type { FromSlot, SlotFailure, SlotJobSource, ToSlot } from './slot-protocol.ts';

const SLOT_ENTRY = new URL('../../../../bin/tsflink-slot.js', import.meta.url);
/** How long a slot may take to stop after a cancel before its thread is terminated. */
const STOP_GRACE_MS = 30_000;

export interface ThreadSlotsOptions {
  /** `taskmanager.numberOfTaskSlots`. */
  readonly slots: number;
  readonly source: SlotJobSource;
  readonly allowNonRestoredState: boolean;
  /** Heap of each slot's thread, MiB (its share of `taskmanager.memory.task.heap.size`); Node's default when not given. */
  readonly slotHeapMb?: number;
  /** The failure to report when a slot's thread exhausted its heap (V8 ends the thread, not the process). */
  readonly heapExhausted?: (slot: number) => Error;
}

export function threadSlotsDeployment(options: ThreadSlotsOptions): AttemptDeployment {
  return (spec) => deployToThreads(spec, options);
}

function deployToThreads(spec: AttemptSpec, options: ThreadSlotsOptions): DeployedAttempt {
  const maxParallelism = Math.max(...spec.chains.map((c) => c.parallelism));
  const slotCount = Math.max(1, Math.min(options.slots, maxParallelism));
  // One slot would be one thread beside this one doing all the work: run it here instead.
  if (slotCount === 1) return deployInThread(spec);
  const subtaskCount = spec.chains.reduce((n, c) => n + c.parallelism, 0);
  const workers = Array.from(
    { length: slotCount },
    () => new Worker(SLOT_ENTRY, options.slotHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.slotHeapMb } }),
  );
  const ended = new Set<number>();
  const deployed = new Set<number>();
  let markRunning!: () => void;
  let failRunning!: (error: Error) => void;
  const running = new Promise<void>((resolve, reject) => {
    markRunning = resolve;
    failRunning = reject;
  });
  running.catch(() => undefined);
  const counts = new Map<number, readonly SubtaskCounts[]>();
  let failure: Error | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);
  let stopTimer: NodeJS.Timeout | undefined;
  const post = (message: ToSlot): void => workers.forEach((w, slot) => !ended.has(slot) && w.postMessage(message));
  const fail = (error: Error): void => {
    if (failure !== undefined) return;
    failure = error;
    failRunning(error);
    post({ type: 'cancel' });
    stopTimer = setTimeout(() => workers.forEach((w) => void w.terminate()), STOP_GRACE_MS);
    stopTimer.unref();
    settleIfEnded();
  };
  const settleIfEnded = (): void => {
    if (ended.size < slotCount) return;
    if (stopTimer !== undefined) clearTimeout(stopTimer);
    if (failure === undefined) resolveDone();
    else rejectDone(failure);
  };
  const slotEnded = (slot: number, slotFailure: Error | undefined): void => {
    if (ended.has(slot)) return;
    ended.add(slot);
    if (slotFailure !== undefined) fail(slotFailure);
    settleIfEnded();
  };

  // One MessageChannel per pair of slots carries every channel between their subtasks.
  const peers = workers.map(() => [] as { slot: number; port: import('node:worker_threads').MessagePort }[]);
  for (let a = 0; a < slotCount; a++) {
    for (let b = a + 1; b < slotCount; b++) {
      const { port1, port2 } = new MessageChannel();
      peers[a]!.push({ slot: b, port: port1 });
      peers[b]!.push({ slot: a, port: port2 });
    }
  }
  workers.forEach((worker, slot) => {
    worker.on('message', (message: FromSlot) => {
      switch (message.type) {
        case 'deployed':
          deployed.add(slot);
          if (deployed.size === slotCount) markRunning();
          return;
        case 'finished':
          spec.coordination.finished({ chain: message.chain, index: message.index });
          return;
        case 'ack':
          spec.coordination.acknowledge(message.ack);
          return;
        case 'decline':
          spec.coordination.decline(message.checkpointId, new Error(message.reason));
          return;
        case 'counts':
          counts.set(slot, message.subtasks);
          return;
        case 'ended':
          slotEnded(slot, message.failure === undefined ? undefined : failureOf(message.failure));
      }
    });
    // An uncaught error in the thread, or its heap exhausted (ERR_WORKER_OUT_OF_MEMORY).
    worker.on('error', (err) => {
      const outOfMemory = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' && options.heapExhausted !== undefined;
      slotEnded(slot, outOfMemory ? options.heapExhausted!(slot) : new TaskFailure(`task slot ${slot}`, err));
    });
    worker.on('exit', (code) => slotEnded(slot, failure ?? (code === 0 ? undefined : new Error(`task slot ${slot} exited with code ${code}`))));
    worker.postMessage(
      {
        type: 'deploy',
        jobId: spec.jobId,
        attempt: spec.attempt,
        mode: spec.mode,
        source: options.source,
        slot,
        slots: slotCount,
        ...(spec.restoreFrom === undefined ? {} : { restoreFrom: spec.restoreFrom }),
        allowNonRestoredState: options.allowNonRestoredState,
        peers: peers[slot]!,
      } satisfies ToSlot,
      peers[slot]!.map((p) => p.port),
    );
  });

  return {
    subtaskCount,
    running,
    injectBarrier: (checkpointId, savepoint, drain) => {
      void Promise.resolve(spec.coordination.checkpointTarget(checkpointId)).then((target) => {
        if (target === undefined) return;
        post({ type: 'snapshot-started', checkpointId, savepoint, location: target.store.location });
        post({ type: 'inject-barrier', checkpointId, savepoint, drain });
      });
    },
    notifyComplete: (checkpointId) => post({ type: 'snapshot-complete', checkpointId }),
    notifyAborted: (checkpointId) => post({ type: 'snapshot-aborted', checkpointId }),
    release: () => post({ type: 'release' }),
    fail,
    done,
    recordCounts: () => [...counts.values()].flat(),
  };
}

/** The slot's failure as the executor knows failures: cancelled, a user's error to fix, or a task's. */
function failureOf(f: SlotFailure): Error {
  if (f.cancelled) return new CancelledError(f.message);
  const inner = f.userExitCode === undefined ? new Error(f.message) : new UserError(f.message, f.userExitCode);
  if (f.userExitCode === undefined) Object.defineProperty(inner, 'name', { value: f.name });
  inner.stack = f.stack;
  return f.taskName === null ? inner : new TaskFailure(f.taskName, inner);
}
