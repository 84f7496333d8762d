/**
 * Which finished jobs (FINISHED, CANCELED, FAILED) the Dispatcher still answers for, as Flink's
 * session cluster keeps them in its FileExecutionGraphInfoStore: a job is kept for
 * `jobstore.expiration-time` seconds after it ended (Guava's expireAfterWrite: looking at it does
 * not extend it), and at most `jobstore.max-capacity` of them, the ones that ended first going
 * first. Then its id is unknown. Running jobs are never here.
 *
 * Only ids and end times: the Dispatcher drops the job's record. Eviction is done when asked
 * (`evict`), with the clock a parameter, so tests move time rather than wait for it.
 */
import { UserError } from '../../errors.ts';
import { parseFlinkDuration } from '../checkpoint/flink-duration.ts';

export const JOBSTORE_EXPIRATION_TIME_KEY = 'jobstore.expiration-time';
export const JOBSTORE_MAX_CAPACITY_KEY = 'jobstore.max-capacity';
export const JOBSTORE_TYPE_KEY = 'jobstore.type';
/** Flink's JobManagerOptions.JOB_STORE_EXPIRATION_TIME: 3600 (seconds, a Long). */
export const DEFAULT_JOBSTORE_EXPIRATION_S = 3600;
/** Flink's JOB_STORE_MAX_CAPACITY: Integer.MAX_VALUE, no limit. */
export const MAX_JOBSTORE_CAPACITY = 2_147_483_647;
const MAX_LONG = 9_223_372_036_854_775_807n;

function fail(key: string, message: string): never {
  throw new UserError(`${key}: ${message}`, 1);
}

/**
 * Milliseconds; `Infinity` beyond what a JavaScript number counts exactly (over 285,000 years).
 * Flink 1.20's key is a Long of seconds, not a duration: `3600`, not `1 h`. 0 drops a job as soon
 * as it ends (Guava's expireAfterWrite(0)); a negative value stops Flink's session cluster from
 * starting, so it is refused. Throws UserError (exit 1) naming the key.
 */
export function parseJobStoreExpiration(key: string, value: string): number {
  const text = value.trim();
  const range = `allowed: whole seconds from 0 to ${MAX_LONG}; Flink's key is a number of seconds, not a duration`;
  if (!/^[+-]?\d+$/u.test(text)) {
    // A duration (`1 h`, what most time keys take) is the likely slip: say what it is in seconds.
    const ms = parseFlinkDuration(text);
    const instead = ms !== undefined && ms % 1000 === 0 ? `: write ${ms / 1000} for ${text}` : '';
    fail(key, `'${value}' is not a whole number of seconds (${range})${instead}`);
  }
  const seconds = BigInt(text.replace(/^\+/u, ''));
  if (seconds < 0n || seconds > MAX_LONG) fail(key, `'${value}' is out of range (${range})`);
  const ms = Number(seconds) * 1000;
  return Number.isSafeInteger(ms) ? ms : Number.POSITIVE_INFINITY;
}

/** 0 keeps no finished job; a negative value stops Flink's session cluster from starting. */
export function parseJobStoreMaxCapacity(key: string, value: string): number {
  const text = value.trim();
  const range = `allowed: from 0 to ${MAX_JOBSTORE_CAPACITY}`;
  if (!/^[+-]?\d+$/u.test(text)) fail(key, `'${value}' is not a whole number (${range})`);
  const n = Number(text);
  if (n < 0 || n > MAX_JOBSTORE_CAPACITY) fail(key, `'${value}' is out of range (${range})`);
  return n;
}

/**
 * `File`, in any case, as Flink matches enum values: tsflink keeps every job's record as a file
 * in the JobManager's working directory. `Memory` (no files) is refused: the files are what a
 * restarted JobManager resumes running jobs from.
 */
export function parseJobStoreType(key: string, value: string): 'File' {
  const text = value.trim();
  if (text.toLowerCase() === 'file') return 'File';
  if (text.toLowerCase() === 'memory') {
    fail(key, `'${value}': tsflink keeps every job's record as a file in the JobManager's working directory (File), which a restarted JobManager resumes running jobs from; remove the key or set File, and bound finished jobs with ${JOBSTORE_EXPIRATION_TIME_KEY} and ${JOBSTORE_MAX_CAPACITY_KEY}`);
  }
  return fail(key, `'${value}' is not one of File, Memory`);
}

export interface JobStoreSettings {
  /** `Infinity`: never. */
  readonly expirationMs: number;
  readonly maxCapacity: number;
}

/** The cluster's settings; its values were checked when the configuration was loaded. */
export function jobStoreSettings(config: Readonly<Record<string, string>>): JobStoreSettings {
  const expiration = config[JOBSTORE_EXPIRATION_TIME_KEY];
  const capacity = config[JOBSTORE_MAX_CAPACITY_KEY];
  return {
    expirationMs: expiration === undefined ? DEFAULT_JOBSTORE_EXPIRATION_S * 1000 : parseJobStoreExpiration(JOBSTORE_EXPIRATION_TIME_KEY, expiration),
    maxCapacity: capacity === undefined ? MAX_JOBSTORE_CAPACITY : parseJobStoreMaxCapacity(JOBSTORE_MAX_CAPACITY_KEY, capacity),
  };
}

export class FinishedJobs {
  /** Job id to when it ended, in the order they ended, so the ones to evict are at the front. */
  readonly #endedAt = new Map<string, number>();

  constructor(
    private readonly settings: JobStoreSettings,
    private readonly now: () => number,
  ) {}

  /** A job ended at `endedAt` (ms on the same clock as `now`); call in the order jobs ended. */
  add(jobId: string, endedAt: number): void {
    this.#endedAt.delete(jobId);
    this.#endedAt.set(jobId, endedAt);
  }

  get size(): number {
    return this.#endedAt.size;
  }

  /** The jobs to drop now, forgotten here, oldest first: expired ones, then those beyond the capacity. */
  evict(): { readonly jobId: string; readonly reason: 'expired' | 'capacity' }[] {
    const evicted: { jobId: string; reason: 'expired' | 'capacity' }[] = [];
    const now = this.now();
    for (const [jobId, endedAt] of this.#endedAt) {
      const expired = now - endedAt >= this.settings.expirationMs;
      if (!expired && this.#endedAt.size <= this.settings.maxCapacity) break;
      this.#endedAt.delete(jobId);
      evicted.push({ jobId, reason: expired ? 'expired' : 'capacity' });
    }
    return evicted;
  }
}
