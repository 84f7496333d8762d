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

export function registrySlotProvider(registry: TaskManagerRegistry, options: { readonly spreadOut: boolean }): SlotProvider {
  const waiting = new Map<object, { readonly jobId: string; readonly count: number }>();
  const withdrawn = new WeakSet<object>();
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
              `Could not acquire the minimum required resources: job ${jobId} needs ${count} task slot${count === 1 ? '' : 's'} (its highest parallelism), and the cluster has ${total} (${free} free) in ${taskManagers} TaskManager${taskManagers === 1 ? '' : 's'} after waiting ${Math.round(timeoutMs / 1000)} s (slot.request.timeout). Start more TaskManagers (flink taskmanager, or taskmanager.count), give them more slots (taskmanager.numberOfTaskSlots), or lower the parallelism.`,
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
