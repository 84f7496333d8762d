/**
 * The heap of a job's worker process: its limit (`taskmanager.memory.task.heap.size`, passed to
 * the worker as V8's `--max-old-space-size`), and the one line a job fails with when the worker
 * dies of heap exhaustion instead of V8's crash dump (which stays in the job's log file).
 *
 * Flink's closest keys: `taskmanager.memory.process.size` is the whole process (heap, native
 * memory and overhead), which tsflink does not limit (an on-disk store's memory is native);
 * `taskmanager.memory.task.heap.size` is "JVM heap memory reserved for tasks", what V8's old-space
 * limit bounds here.
 */
import { getHeapStatistics } from 'node:v8';
import { UserError } from '../../errors.ts';
import { BUILT_STATE_BACKEND_TYPES, type StateBackendType } from '../state/state-backend-type.ts';

export const WORKER_HEAP_KEY = 'taskmanager.memory.task.heap.size';

/** Below this a worker cannot load the engine and a job reliably. */
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

/** What the worker process is started with: the parent's flags and the heap limit, if one is set. */
export function workerExecArgv(parentExecArgv: readonly string[], heapLimitMb: number | undefined): string[] {
  const inherited = parentExecArgv.filter((a) => !a.startsWith('--max-old-space-size'));
  return heapLimitMb === undefined ? [...inherited] : [...inherited, `--max-old-space-size=${heapLimitMb}`];
}

/** V8's line when a heap allocation fails at the limit ("FATAL ERROR: ... JavaScript heap out of memory"). */
export function isHeapExhaustion(workerOutput: string): boolean {
  return /FATAL ERROR:.*JavaScript heap out of memory/u.test(workerOutput);
}

/** The worker's heap limit in MiB as V8 sets it without a flag: this process's (same binary, same environment). */
export function defaultHeapLimitMb(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 1024 ** 2);
}

/**
 * The one line a job fails with when its worker ran out of heap: the limit, the backend, and
 * what to do, which depends on whether an on-disk backend is built.
 */
export function heapExhaustionMessage(heapLimitMb: number, backend: StateBackendType): string {
  const onDisk = BUILT_STATE_BACKEND_TYPES.filter((t) => t !== 'hashmap');
  const raise = `raise ${WORKER_HEAP_KEY}`;
  if (backend !== 'hashmap') {
    return `The job's worker ran out of memory (heap limit ${heapLimitMb} MB; state.backend.type: ${backend}, so keyed state is on disk and the heap was filled by something else, e.g. a user function or a large write cache); ${raise}`;
  }
  const advice = onDisk.length === 0 ? `tsflink has no on-disk state backend yet: ${raise} or keep fewer keys` : `use ${onDisk.join(' or ')} to keep state larger than memory, or ${raise}`;
  return `The job's worker ran out of memory (heap limit ${heapLimitMb} MB) holding its keyed state on the heap (state.backend.type: hashmap); ${advice}`;
}
