/**
 * Starting a task slot's worker thread, for a job's own slots and for a TaskManager's alike: its
 * entry, its share of the task heap, and how its heap exhaustion shows (V8 ends the thread with
 * ERR_WORKER_OUT_OF_MEMORY, not the process).
 */
import { Worker } from 'node:worker_threads';
import { MIN_WORKER_HEAP_MB } from '../worker-heap.ts';

const SLOT_ENTRY = new URL('../../../../bin/tsflink-slot.js', import.meta.url);

/** A slot thread; `heapMb` undefined: Node's default heap. */
export function startSlotThread(heapMb: number | undefined): Worker {
  return new Worker(SLOT_ENTRY, heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
}

/** Each slot's share of `taskmanager.memory.task.heap.size`, as a TaskManager's slots share its heap. */
export function slotHeapMb(heapLimitMb: number | undefined, slots: number): number | undefined {
  return heapLimitMb === undefined ? undefined : Math.max(MIN_WORKER_HEAP_MB, Math.floor(heapLimitMb / slots));
}

export function isOutOfMemory(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
}
