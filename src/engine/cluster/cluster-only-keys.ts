/**
 * Configuration keys that take effect only when a cluster starts: read once by its JobManager
 * (its REST server, working directory, resource manager, TaskManager registry) or by the
 * TaskManagers it starts, never by a job. A `flink run` that starts its cluster hands them to it
 * (clusterDefines); one that goes to a cluster already running is refused them, as it is
 * taskmanager.numberOfTaskSlots and taskmanager.memory.task.heap.size, rather than have them
 * ignored. Keys a job reads too (slot.request.timeout, the network's) are not here.
 */
import { parseFlinkDuration } from '../checkpoint/flink-duration.ts';
import { BLOB_STORAGE_DIRECTORY_KEY } from './blob-store.ts';
import { ASYNC_STORE_DURATION_KEY } from './completed-operation-cache.ts';
import { JOBSTORE_EXPIRATION_TIME_KEY, JOBSTORE_MAX_CAPACITY_KEY } from './finished-jobs.ts';
import {
  HEARTBEAT_INTERVAL_KEY,
  HEARTBEAT_TIMEOUT_KEY,
  MAX_SLOTS_KEY,
  SPREAD_OUT_SLOTS_KEY,
  TASK_MANAGER_COUNT_KEY,
  TASK_MANAGER_HOST_KEY,
  TASK_MANAGER_IDLE_TIMEOUT_KEY,
} from './taskmanager/task-manager-settings.ts';

export const CLUSTER_ONLY_KEYS: readonly string[] = [
  'process.jobmanager.working-dir',
  'rest.bind-address',
  'rest.server.max-content-length',
  ASYNC_STORE_DURATION_KEY,
  JOBSTORE_EXPIRATION_TIME_KEY,
  JOBSTORE_MAX_CAPACITY_KEY,
  BLOB_STORAGE_DIRECTORY_KEY,
  TASK_MANAGER_COUNT_KEY,
  TASK_MANAGER_HOST_KEY,
  HEARTBEAT_INTERVAL_KEY,
  HEARTBEAT_TIMEOUT_KEY,
  MAX_SLOTS_KEY,
  TASK_MANAGER_IDLE_TIMEOUT_KEY,
  SPREAD_OUT_SLOTS_KEY,
];

type ValueKind = 'duration' | 'integer' | 'boolean';

/**
 * How Flink reads each cluster-only key that is not plain text, so two spellings of one value
 * compare equal: `+3` and `3` for a Long key (Long.parseLong takes a sign), `2000ms` and `2 s`
 * for a duration. A key not here (paths, hosts) compares as text.
 */
const KIND: Readonly<Record<string, ValueKind>> = {
  'rest.server.max-content-length': 'integer',
  [ASYNC_STORE_DURATION_KEY]: 'duration',
  [JOBSTORE_EXPIRATION_TIME_KEY]: 'integer',
  [JOBSTORE_MAX_CAPACITY_KEY]: 'integer',
  [TASK_MANAGER_COUNT_KEY]: 'integer',
  [HEARTBEAT_INTERVAL_KEY]: 'duration',
  [HEARTBEAT_TIMEOUT_KEY]: 'duration',
  [MAX_SLOTS_KEY]: 'integer',
  [TASK_MANAGER_IDLE_TIMEOUT_KEY]: 'duration',
  [SPREAD_OUT_SLOTS_KEY]: 'boolean',
};

/** The value as Flink would read it for its kind, as a comparable string; undefined: not one. */
function parsed(kind: ValueKind, text: string): string | undefined {
  switch (kind) {
    case 'duration':
      return parseFlinkDuration(text)?.toString();
    case 'integer':
      // BigInt: a Long beyond 2^53 still compares exactly.
      return /^[+-]?\d+$/u.test(text) ? BigInt(text.replace(/^\+/u, '')).toString() : undefined;
    case 'boolean':
      // Flink's ConfigurationUtils.convertToBoolean: TRUE or FALSE in any case, nothing else.
      return /^(true|false)$/iu.test(text) ? text.toLowerCase() : undefined;
  }
}

/**
 * Whether a run's value of a cluster-only key is the cluster's: compared as Flink reads the key
 * (durations in ms, numbers by value, true/false in any case), as text where either side does not
 * parse or the key has no parser.
 */
export function sameSetting(key: string, a: string, b: string): boolean {
  const [x, y] = [a.trim(), b.trim()];
  const kind = KIND[key];
  if (kind !== undefined) {
    const [px, py] = [parsed(kind, x), parsed(kind, y)];
    if (px !== undefined && py !== undefined) return px === py;
  }
  return x === y;
}
