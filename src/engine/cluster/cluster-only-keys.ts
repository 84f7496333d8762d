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

/** Whether two spellings of a value mean the same: durations and numbers by value (`1 min`, `60 s`), true/false in any case. */
export function sameSetting(a: string, b: string): boolean {
  const [x, y] = [a.trim(), b.trim()];
  const [dx, dy] = [parseFlinkDuration(x), parseFlinkDuration(y)];
  if (dx !== undefined && dy !== undefined) return dx === dy;
  if (/^(true|false)$/i.test(x) && /^(true|false)$/i.test(y)) return x.toLowerCase() === y.toLowerCase();
  return x === y;
}
