/**
 * How many local TaskManagers to start or stop, as Flink's active resource manager decides
 * (its SlotManager over Kubernetes or YARN): when slot requests wait and the slots free and
 * coming do not cover them, start enough TaskManagers to cover them, within
 * `slotmanager.number-of-slots.max`; a TaskManager started for demand that held no slot for
 * `resourcemanager.taskmanager-timeout` is stopped, as long as no request waits and
 * `taskmanager.count` of them stay. Pure: the caller brings the clock's reading and the processes.
 */

export interface LocalTaskManagerState {
  /** The registered TaskManager's id. */
  readonly id: string;
  /** Slots it offers and how many jobs hold. */
  readonly slots: number;
  readonly used: number;
  /** Since when it holds no slot; undefined while it holds some. */
  readonly idleSinceMs: number | undefined;
}

export interface DemandInput {
  /** Slots each waiting request needs (a job asks for all its slots at once). */
  readonly pending: readonly number[];
  /** Free slots of every registered TaskManager, local or not. */
  readonly freeSlots: number;
  /** Slots of every registered TaskManager. */
  readonly totalSlots: number;
  /** Local TaskManagers started but not registered (yet, or again). */
  readonly starting: number;
  /** Registered local TaskManagers, the newest last. */
  readonly local: readonly LocalTaskManagerState[];
  /** Slots a local TaskManager offers (`taskmanager.numberOfTaskSlots`, default the cores). */
  readonly slotsPerTaskManager: number;
  /** `slotmanager.number-of-slots.max`: no TaskManager starts that would take the slots past it. */
  readonly maxSlots: number;
  /** `taskmanager.count`: local TaskManagers that always run. */
  readonly minTaskManagers: number;
  /** `resourcemanager.taskmanager-timeout`. */
  readonly idleTimeoutMs: number;
  readonly nowMs: number;
}

export interface DemandDecision {
  /** Local TaskManagers to start. */
  readonly start: number;
  /** Ids of local TaskManagers to stop, newest first. */
  readonly stop: readonly string[];
}

export function decideTaskManagers(input: DemandInput): DemandDecision {
  const spt = Math.max(1, input.slotsPerTaskManager);
  const wanted = input.pending.reduce((sum, n) => sum + n, 0);
  if (wanted > 0) {
    const coming = input.starting * spt;
    const missing = wanted - input.freeSlots - coming;
    if (missing <= 0) return { start: 0, stop: [] };
    const room = Math.floor((input.maxSlots - input.totalSlots - coming) / spt);
    return { start: Math.max(0, Math.min(Math.ceil(missing / spt), room)), stop: [] };
  }
  const stop: string[] = [];
  let running = input.local.length + input.starting;
  for (const tm of [...input.local].reverse()) {
    if (running <= input.minTaskManagers) break;
    if (tm.used === 0 && tm.idleSinceMs !== undefined && input.nowMs - tm.idleSinceMs >= input.idleTimeoutMs) {
      stop.push(tm.id);
      running--;
    }
  }
  return { start: 0, stop };
}
