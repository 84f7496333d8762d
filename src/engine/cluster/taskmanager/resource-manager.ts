/**
 * The JobManager's active resource manager over its local TaskManagers (Flink's, over Kubernetes
 * or YARN): a few times a second it reads the waiting slot requests and the TaskManagers' use,
 * asks task-manager-demand.ts what to do, and starts or stops local TaskManagers accordingly.
 * TaskManagers that registered on their own (`flink taskmanager`) count as slots but are never
 * stopped: nothing here started them.
 */
import type { LocalTaskManagers } from './local-task-managers.ts';
import type { SlotProvider } from './slot-provider.ts';
import { decideTaskManagers } from './task-manager-demand.ts';
import type { TaskManagerRegistry } from './task-manager-registry.ts';
import { MAX_SLOTS_KEY, TASK_MANAGER_IDLE_TIMEOUT_KEY } from './task-manager-settings.ts';

export interface ResourceManagerOptions {
  readonly registry: TaskManagerRegistry;
  readonly slots: SlotProvider;
  readonly local: LocalTaskManagers;
  /** `taskmanager.count`. */
  readonly minTaskManagers: number;
  readonly slotsPerTaskManager: number;
  readonly maxSlots: number;
  readonly idleTimeoutMs: number;
  readonly log: (line: string) => void;
  readonly now?: () => number;
  readonly intervalMs?: number;
}

export interface ResourceManager {
  /** A TaskManager it stopped, registering again while it shuts down: not to be offered slots. */
  retired(pid: number): boolean;
  close(): void;
}

export function startResourceManager(options: ResourceManagerOptions): ResourceManager {
  const now = options.now ?? Date.now;
  const retired = new Set<number>();
  /**
   * Local TaskManagers seen registered: one no longer registered but still running went silent
   * (a partition, a long pause, a SIGSTOP) and was expired; it is not coming, so demand starts
   * another, as Flink's active resource manager replaces a worker lost to a heartbeat timeout.
   * If it comes back it registers again and, idle, is stopped like any TaskManager started for demand.
   */
  const registeredOnce = new Set<number>();
  let boundSaid = false;
  const tick = (): void => {
    const pids = options.local.pids();
    const numberOf = new Map([...pids].flatMap(([n, pid]) => (pid === undefined ? [] : [[pid, n] as const])));
    const usage = options.registry.usage();
    const registeredPids = new Set(usage.map((u) => u.pid));
    const local = usage.filter((u) => numberOf.has(u.pid)).sort((a, b) => numberOf.get(a.pid)! - numberOf.get(b.pid)!);
    for (const pid of registeredOnce) {
      if (numberOf.has(pid)) continue;
      registeredOnce.delete(pid);
      // Its process ended (a SIGKILL, a crash): as Flink's active resource manager on a worker's
      // termination, its slots are gone now, not after heartbeat.timeout, so no job is given
      // slots it cannot reach (with restart-strategy none, that failed the job).
      for (const u of usage) {
        if (u.pid !== pid || retired.has(pid) || !options.registry.remove(u.id)) continue;
        options.log(`TaskManager ${u.id} (pid ${pid}) ended: its slots are gone`);
      }
    }
    for (const u of local) registeredOnce.add(u.pid);
    const starting = [...pids.values()].filter((pid) => pid === undefined || (!registeredPids.has(pid) && !registeredOnce.has(pid))).length;
    const { slots: totalSlots, free: freeSlots } = options.registry.totals();
    const pending = options.slots.pending();
    const decision = decideTaskManagers({ pending, freeSlots, totalSlots, starting, local, slotsPerTaskManager: options.slotsPerTaskManager, maxSlots: options.maxSlots, minTaskManagers: options.minTaskManagers, idleTimeoutMs: options.idleTimeoutMs, nowMs: now() });
    const wanted = pending.reduce((a, b) => a + b, 0);
    if (decision.start > 0) {
      options.log(`jobs wait for ${wanted} task slots, ${freeSlots} are free and ${starting * options.slotsPerTaskManager} coming: starting ${decision.start} more TaskManager${decision.start === 1 ? '' : 's'} of ${options.slotsPerTaskManager} slots`);
      for (let i = 0; i < decision.start; i++) options.local.add();
      boundSaid = false;
    } else if (wanted > freeSlots + starting * options.slotsPerTaskManager && !boundSaid) {
      boundSaid = true;
      options.log(`jobs wait for ${wanted} task slots and ${freeSlots} are free, but another TaskManager would take the cluster past ${options.maxSlots} slots (${MAX_SLOTS_KEY}): starting none`);
    }
    for (const id of decision.stop) {
      const tm = local.find((u) => u.id === id)!;
      // Forgotten first, so no request gets its slots while it stops.
      options.registry.remove(id);
      retired.add(tm.pid);
      options.local.retire(tm.pid);
      options.log(`TaskManager ${numberOf.get(tm.pid)} (${id}, pid ${tm.pid}) held no slot for ${options.idleTimeoutMs} ms (${TASK_MANAGER_IDLE_TIMEOUT_KEY}): stopping it`);
    }
  };
  const timer = setInterval(tick, options.intervalMs ?? 200);
  timer.unref();
  return { retired: (pid) => retired.has(pid), close: () => clearInterval(timer) };
}
