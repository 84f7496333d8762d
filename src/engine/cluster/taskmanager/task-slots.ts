/** `taskmanager.numberOfTaskSlots`: how many worker threads a job's worker runs its subtasks in. */
export const TASK_SLOTS_KEY = 'taskmanager.numberOfTaskSlots';
/** More threads than this gains nothing on the machines tsflink runs on, and each costs a V8 heap. */
export const MAX_TASK_SLOTS = 64;

/** The configured slots (validated when the configuration was loaded); 1 when unset. */
export function taskSlotsOf(config: ReadonlyMap<string, string>): number {
  const value = config.get(TASK_SLOTS_KEY);
  return value === undefined ? 1 : Number.parseInt(value, 10);
}
