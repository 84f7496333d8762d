/**
 * The TaskManager keys a cluster reads (Flink's names and defaults, but `taskmanager.count`,
 * which is tsflink's: how many local TaskManagers `flink cluster start` starts). Values were
 * checked when the configuration was loaded (config-keys.ts); here they are only read.
 */
import { parseFlinkDuration } from '../../checkpoint/flink-duration.ts';

export const TASK_MANAGER_COUNT_KEY = 'taskmanager.count';
/**
 * What `flink cluster start` and `flink run`'s own cluster start, as Flink's start-cluster.sh starts
 * a TaskManager on localhost; `flink jobmanager` alone starts none (jobmanager.sh), so a JobManager
 * deployed beside TaskManager pods does not start its own.
 */
export const DEFAULT_LOCAL_TASK_MANAGERS = 1;
export const TASK_MANAGER_HOST_KEY = 'taskmanager.host';
export const HEARTBEAT_INTERVAL_KEY = 'heartbeat.interval';
export const HEARTBEAT_TIMEOUT_KEY = 'heartbeat.timeout';
export const SLOT_REQUEST_TIMEOUT_KEY = 'slot.request.timeout';
export const SPREAD_OUT_SLOTS_KEY = 'cluster.evenly-spread-out-slots';
export const MAX_SLOTS_KEY = 'slotmanager.number-of-slots.max';
export const TASK_MANAGER_IDLE_TIMEOUT_KEY = 'resourcemanager.taskmanager-timeout';
/** Flink's default for slotmanager.number-of-slots.max (Integer.MAX_VALUE): no bound. */
export const UNBOUNDED_SLOTS = 2_147_483_647;

export interface TaskManagerSettings {
  /** Local TaskManagers the JobManager starts and keeps running; 0 (a bare `flink jobmanager`'s default): jobs wait for TaskManagers started by hand. */
  readonly count: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly slotRequestTimeoutMs: number;
  readonly spreadOutSlots: boolean;
  /** No local TaskManager starts for waiting jobs that would take the cluster's slots past this. */
  readonly maxSlots: number;
  /** A local TaskManager beyond `count` that held no slot this long is stopped. */
  readonly idleTimeoutMs: number;
}

type Settings = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

function get(config: Settings, key: string): string | undefined {
  return config instanceof Map ? config.get(key) : (config as Readonly<Record<string, string>>)[key];
}

function duration(config: Settings, key: string, fallback: number): number {
  const value = get(config, key);
  return value === undefined ? fallback : (parseFlinkDuration(value) ?? fallback);
}

export function taskManagerSettings(config: Settings): TaskManagerSettings {
  const count = get(config, TASK_MANAGER_COUNT_KEY);
  return {
    count: count === undefined ? 0 : Number.parseInt(count, 10),
    // Flink's defaults: heartbeats every 10 s, a peer silent for 50 s is lost, slots awaited 5 min.
    heartbeatIntervalMs: duration(config, HEARTBEAT_INTERVAL_KEY, 10_000),
    heartbeatTimeoutMs: duration(config, HEARTBEAT_TIMEOUT_KEY, 50_000),
    slotRequestTimeoutMs: duration(config, SLOT_REQUEST_TIMEOUT_KEY, 300_000),
    spreadOutSlots: (get(config, SPREAD_OUT_SLOTS_KEY) ?? 'false').toLowerCase() === 'true',
    maxSlots: Number.parseInt(get(config, MAX_SLOTS_KEY) ?? String(UNBOUNDED_SLOTS), 10),
    // Flink's default: an unused TaskManager goes after 30 s.
    idleTimeoutMs: duration(config, TASK_MANAGER_IDLE_TIMEOUT_KEY, 30_000),
  };
}
