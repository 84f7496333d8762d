/**
 * Slots for jobs, from the TaskManagers registered with this JobManager: a request waits until
 * enough are free (Flink's slot.request.timeout), then fails naming how many the job needs and
 * how many exist, as Flink's NoResourceAvailableException does.
 */
import { UserError } from '../../../errors.ts';
import type { SlotAssignment } from './slot-assignment.ts';
import type { TaskManagerRegistry } from './task-manager-registry.ts';

export interface SlotProvider {
  /** `count` slots for the job (replacing what it held), waiting up to `timeoutMs` for them. */
  request(jobId: string, count: number, timeoutMs: number): Promise<SlotAssignment[]>;
  /** The job's slots are free again, and a request of it still waiting is withdrawn (the job ended). */
  release(jobId: string): void;
  /** A job found this TaskManager gone: offer none of its slots until it registers again. */
  forget(taskManagerId: string): boolean;
  /** Slots each request still waiting needs (the resource manager starts TaskManagers for them). */
  pending(): number[];
}

const RETRY_MS = 50;

export function registrySlotProvider(
  registry: TaskManagerRegistry,
  options: {
    readonly spreadOut: boolean;
    /** Local TaskManagers this JobManager starts (taskmanager.count): more start for waiting jobs. */
    readonly localTaskManagers?: number;
    /** slotmanager.number-of-slots.max: local TaskManagers start for waiting jobs only up to it (unbounded when not given). */
    readonly maxSlots?: number;
  },
): SlotProvider {
  const waiting = new Map<object, { readonly jobId: string; readonly count: number }>();
  const withdrawn = new WeakSet<object>();
  // The cap is the reason when this JobManager would have started TaskManagers for the job but for it.
  const capped = (missing: number, total: number): boolean => (options.localTaskManagers ?? 0) > 0 && options.maxSlots !== undefined && total + missing > options.maxSlots;
  const remedy = (missing: number, total: number): string =>
    capped(missing, total)
      ? `Local TaskManagers are started for waiting jobs only up to slotmanager.number-of-slots.max (${options.maxSlots}): raise it, start more TaskManagers (flink taskmanager), or lower the parallelism.`
      : 'Start more TaskManagers (flink taskmanager, or taskmanager.count), give them more slots (taskmanager.numberOfTaskSlots), or lower the parallelism.';
  return {
    request: async (jobId, count, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      const request = {};
      try {
        for (;;) {
          // Its job ended while it waited: slots taken now would be held by nobody.
          if (withdrawn.has(request)) throw new UserError(`The slot request of job ${jobId} was withdrawn: the job ended while it waited for ${count} task slot${count === 1 ? '' : 's'}.`, 1);
          const slots = registry.allocate(jobId, count, options.spreadOut);
          if (slots !== undefined) return slots;
          waiting.set(request, { jobId, count });
          if (Date.now() >= deadline) {
            const { taskManagers, slots: total, free } = registry.totals();
            throw new UserError(
              `Could not acquire the minimum required resources: job ${jobId} needs ${count} task slot${count === 1 ? '' : 's'} (its highest parallelism), and the cluster has ${total} (${free} free) in ${taskManagers} TaskManager${taskManagers === 1 ? '' : 's'} after waiting ${Math.round(timeoutMs / 1000)} s (slot.request.timeout). ${remedy(count - free, total)}`,
              1,
            );
          }
          // Unreferenced: a JobManager stopping does not wait for a request that still waits.
          await new Promise((r) => setTimeout(r, RETRY_MS).unref());
        }
      } finally {
        waiting.delete(request);
      }
    },
    release: (jobId) => {
      for (const [request, w] of waiting) if (w.jobId === jobId) withdrawn.add(request);
      registry.release(jobId);
    },
    forget: (id) => registry.remove(id),
    pending: () => [...waiting.values()].map((w) => w.count),
  };
}
