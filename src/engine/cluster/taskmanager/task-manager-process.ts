/** A TaskManager as the configuration describes it: `flink taskmanager`, or one the JobManager starts. */
import { type Config, networkOptions } from '../../../config.ts';
import { workerHeapLimitMb } from '../worker-heap.ts';
import { slotHeapMb } from './slot-thread.ts';
import { type RunningTaskManager, runTaskManager } from './task-manager.ts';
import { TASK_MANAGER_HOST_KEY, taskManagerSettings } from './task-manager-settings.ts';
import { TASK_SLOTS_KEY } from './task-slots.ts';
import { BLOB_STORAGE_DIRECTORY_KEY } from '../blob-store.ts';

export { BLOB_STORAGE_DIRECTORY_KEY };

export async function startTaskManagerFromConfig(config: Config, jobManagerUrl: string, log: (line: string) => void, defaultSlots: number): Promise<RunningTaskManager> {
  const slotsText = config.get(TASK_SLOTS_KEY);
  const slots = slotsText === undefined ? defaultSlots : Number.parseInt(slotsText, 10);
  // Checked when the configuration was loaded: a non-loopback bind has a secret.
  const { bindHost, secret, heartbeatTimeoutMs, dataPort } = networkOptions(config);
  const settings = taskManagerSettings(config);
  const heapLimitMb = workerHeapLimitMb(Object.fromEntries(config));
  return runTaskManager({
    slots,
    jobManagerUrl,
    bindHost,
    // Peers must reach it: the bind address, unless it binds everywhere.
    advertisedHost: config.get(TASK_MANAGER_HOST_KEY) ?? (bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost),
    // One port for control and data (Flink has taskmanager.rpc.port beside it).
    port: dataPort,
    ...(secret === undefined ? {} : { secret }),
    ...(config.get(BLOB_STORAGE_DIRECTORY_KEY) === undefined ? {} : { blobStorageDirectory: config.get(BLOB_STORAGE_DIRECTORY_KEY)! }),
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    heartbeatTimeoutMs,
    // The task heap is shared by the slots, as a TaskManager's is.
    ...(heapLimitMb === undefined ? {} : { slotHeapMb: slotHeapMb(heapLimitMb, slots)! }),
    log,
  });
}
