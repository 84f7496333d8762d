/**
 * Places an attempt's subtasks in task slots of this process, one worker thread each, so that a
 * job at parallelism p uses up to p cores. Subtask i of every chain runs in slot i mod slots
 * (Flink's slot sharing: one slot holds a pipeline of subtasks); channels within a slot are local
 * queues, between slots credit-based channels over one MessagePort per pair of slots.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { AttemptDeployment, AttemptSpec, DeployedAttempt } from '../../runtime/attempt-deployment.ts';
import { deployInThread } from '../../runtime/in-thread-deployment.ts';
import { TaskFailure } from '../../runtime/task-failure.ts';
import { type SlotConnection, runSlotAttempt } from './slot-attempt.ts';
import { isOutOfMemory, startSlotThread } from './slot-thread.ts';
import type { DeployMessage, FromSlot, SlotJobSource } from './slot-protocol.ts';

export interface ThreadSlotsOptions {
  /** `taskmanager.numberOfTaskSlots`. */
  readonly slots: number;
  readonly source: SlotJobSource;
  readonly allowNonRestoredState: boolean;
  /** Heap of each slot's thread, MiB (its share of `taskmanager.memory.task.heap.size`); Node's default when not given. */
  readonly slotHeapMb?: number;
  /** The failure to report when a slot's thread exhausted its heap (V8 ends the thread, not the process). */
  readonly heapExhausted?: (slot: number) => Error;
  /** `task.cancellation.timeout`, ms (0: none); Flink's 180000 when not given. */
  readonly cancellationTimeoutMs?: number;
  /** Where a slot terminated after task.cancellation.timeout is named. */
  readonly log?: (line: string) => void;
}

export function threadSlotsDeployment(options: ThreadSlotsOptions): AttemptDeployment {
  return (spec) => deployToThreads(spec, options);
}

function deployToThreads(spec: AttemptSpec, options: ThreadSlotsOptions): DeployedAttempt {
  const maxParallelism = Math.max(...spec.chains.map((c) => c.parallelism));
  const slotCount = Math.max(1, Math.min(options.slots, maxParallelism));
  // One slot would be one thread beside this one doing all the work: run it here instead.
  if (slotCount === 1) return deployInThread(spec);
  // One MessageChannel per pair of slots carries every channel between their subtasks.
  const peers = Array.from({ length: slotCount }, () => [] as { slot: number; port: MessagePort }[]);
  for (let a = 0; a < slotCount; a++) {
    for (let b = a + 1; b < slotCount; b++) {
      const { port1, port2 } = new MessageChannel();
      peers[a]!.push({ slot: b, port: port1 });
      peers[b]!.push({ slot: a, port: port2 });
    }
  }
  const connections = Array.from({ length: slotCount }, (_, slot) => threadSlot(slot, options));
  return runSlotAttempt(spec, connections, (slot) => deployMessage(spec, options, slot, slotCount, peers[slot]!), {
    ...(options.cancellationTimeoutMs === undefined ? {} : { cancellationTimeoutMs: options.cancellationTimeoutMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

export function deployMessage(spec: AttemptSpec, options: Pick<ThreadSlotsOptions, 'source' | 'allowNonRestoredState'>, slot: number, slots: number, peers: DeployMessage['peers'], network?: DeployMessage['network']): DeployMessage {
  return {
    type: 'deploy',
    jobId: spec.jobId,
    attempt: spec.attempt,
    mode: spec.mode,
    source: options.source,
    slot,
    slots,
    ...(spec.restoreFrom === undefined ? {} : { restoreFrom: spec.restoreFrom }),
    ...(spec.buildOnRestore === true ? { buildOnRestore: true } : {}),
    allowNonRestoredState: options.allowNonRestoredState,
    peers,
    ...(network === undefined ? {} : { network }),
  };
}

/** A slot in a worker thread of this process. */
export function threadSlot(slot: number, options: Pick<ThreadSlotsOptions, 'slotHeapMb' | 'heapExhausted'>): SlotConnection {
  const worker = startSlotThread(options.slotHeapMb);
  const name = `task slot ${slot}`;
  return {
    name,
    post: (message) => worker.postMessage(message, message.type === 'deploy' ? message.peers.flatMap((p) => (p.port === undefined ? [] : [p.port])) : []),
    start: (handlers) => {
      worker.on('message', (message: FromSlot) => handlers.message(message));
      // An uncaught error in the thread, or its heap exhausted (ERR_WORKER_OUT_OF_MEMORY).
      worker.on('error', (err) => {
        const outOfMemory = isOutOfMemory(err) && options.heapExhausted !== undefined;
        handlers.gone(outOfMemory ? options.heapExhausted!(slot) : new TaskFailure(name, err));
      });
      worker.on('exit', (code) => handlers.gone(code === 0 ? undefined : new Error(`${name} exited with code ${code}`)));
    },
    terminate: () => void worker.terminate(),
  };
}
