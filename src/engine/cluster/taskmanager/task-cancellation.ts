/**
 * Flink's `task.cancellation.timeout`: how long the subtasks of a cancelled attempt (a failure
 * that restarts the job, `flink cancel`) may take to stop before they are ended without them.
 * Flink makes a task that outlives it a fatal error of its TaskManager; tsflink terminates the
 * slot's thread (its TaskManager and other slots go on). Read from the job's configuration.
 */
import { UserError } from '../../../errors.ts';
import { DURATION_SYNTAX, parseFlinkDuration } from '../../checkpoint/flink-duration.ts';

export const TASK_CANCELLATION_TIMEOUT_KEY = 'task.cancellation.timeout';
/** Flink's default, 180000 ms. */
export const DEFAULT_TASK_CANCELLATION_TIMEOUT_MS = 180_000;
/** Node's longest timer: a longer one would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Milliseconds; 0 turns the watchdog off, as in Flink. Throws UserError (exit 1) naming the key. */
export function parseTaskCancellationTimeout(key: string, value: string): number {
  const ms = parseFlinkDuration(value);
  if (ms === undefined) throw new UserError(`${key}: '${value}' is not a duration: write ${DURATION_SYNTAX}`, 1);
  if (ms > MAX_TIMEOUT_MS) throw new UserError(`${key}: '${value}' is out of range: allowed is at most ${MAX_TIMEOUT_MS} ms (about 24 days), or 0 for no timeout`, 1);
  return ms;
}

/** The job's timeout, in ms (0: none); its value was checked when the configuration was loaded. */
export function taskCancellationTimeoutMs(config: ReadonlyMap<string, string> | Readonly<Record<string, string>>): number {
  const value = config instanceof Map ? config.get(TASK_CANCELLATION_TIMEOUT_KEY) : (config as Readonly<Record<string, string>>)[TASK_CANCELLATION_TIMEOUT_KEY];
  return value === undefined ? DEFAULT_TASK_CANCELLATION_TIMEOUT_MS : parseTaskCancellationTimeout(TASK_CANCELLATION_TIMEOUT_KEY, value);
}
