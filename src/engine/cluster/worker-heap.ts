/**
 * The task heap: `taskmanager.memory.task.heap.size`, a TaskManager's, shared by its slots (each
 * slot thread gets limit/slots as its old-generation limit, slot-thread.ts; the one line a job
 * fails with when a slot runs out of it is the TaskManager's, task-manager.ts `outOfMemory`).
 *
 * Flink's closest keys: `taskmanager.memory.process.size` is the whole process (heap, native
 * memory and overhead), which tsflink does not limit (an on-disk store's memory is native);
 * `taskmanager.memory.task.heap.size` is "JVM heap memory reserved for tasks", what V8's old-space
 * limit bounds here.
 */
import { UserError } from '../../errors.ts';

export const WORKER_HEAP_KEY = 'taskmanager.memory.task.heap.size';

/** Below this a slot thread cannot load the engine and a job reliably. */
export const MIN_WORKER_HEAP_MB = 32;

/** Flink's MemorySize units (case-insensitive); a number without one is bytes. */
const UNITS: readonly (readonly [readonly string[], number])[] = [
  [['b', 'bytes'], 1],
  [['k', 'kb', 'kibibytes'], 1024],
  [['m', 'mb', 'mebibytes'], 1024 ** 2],
  [['g', 'gb', 'gibibytes'], 1024 ** 3],
  [['t', 'tb', 'tebibytes'], 1024 ** 4],
];

export const MEMORY_SIZE_SYNTAX = 'a whole number with an optional unit (b, k/kb, m/mb, g/gb, t/tb; none: bytes), e.g. 256m, 1 gb';

/** Flink's `MemorySize.parse`: bytes, or undefined when `text` is not a memory size. */
export function parseMemorySize(text: string): number | undefined {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/iu.exec(text);
  if (match === null) return undefined;
  const unit = match[2]!.toLowerCase();
  const factor = unit === '' ? 1 : UNITS.find(([names]) => names.includes(unit))?.[1];
  if (factor === undefined) return undefined;
  const bytes = Number(match[1]) * factor;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The configured heap limit in MiB (whole, rounded down), or undefined when the key is unset; UserError (exit 1) for a bad value. */
export function workerHeapLimitMb(config: Readonly<Record<string, string>>, key = WORKER_HEAP_KEY): number | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  const bytes = parseMemorySize(value);
  if (bytes === undefined) throw new UserError(`${key}: '${value}' is not a memory size: write ${MEMORY_SIZE_SYNTAX}`, 1);
  const mb = Math.floor(bytes / 1024 ** 2);
  if (mb < MIN_WORKER_HEAP_MB) throw new UserError(`${key}: '${value}' is too small: a worker needs at least ${MIN_WORKER_HEAP_MB} mb`, 1);
  return mb;
}
