/**
 * The JobManager's view of its TaskManagers (Flink's ResourceManager and slot pool in one):
 * who registered, when each last heartbeated, and which slots each job holds. Time comes in as
 * a parameter, so expiry and allocation are tested without waiting.
 */
import type { TaskManagerInfo, TaskManagerRegistration } from '../cluster-api.ts';
import type { SlotAssignment } from './slot-assignment.ts';

export type { TaskManagerInfo, TaskManagerRegistration };


interface Entry {
  readonly registration: TaskManagerRegistration;
  lastHeartbeat: number;
  /** Slot index -> the job holding it. */
  readonly allocated: Map<number, string>;
  /** Since when it holds no slot (for resourcemanager.taskmanager-timeout); undefined while it holds some. */
  idleSince: number | undefined;
}

/** A registered TaskManager's use, for the resource manager. */
export interface TaskManagerUsage {
  readonly id: string;
  readonly pid: number;
  readonly slots: number;
  readonly used: number;
  readonly idleSinceMs: number | undefined;
}


export class TaskManagerRegistry {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A TaskManager (re)registers: a new one, or one the JobManager forgot (it keeps no slots then). */
  register(registration: TaskManagerRegistration): void {
    this.#entries.set(registration.id, { registration, lastHeartbeat: this.now(), allocated: new Map(), idleSince: this.now() });
  }

  /** False for a TaskManager this JobManager does not know (it must register again). */
  heartbeat(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    entry.lastHeartbeat = this.now();
    return true;
  }

  /** Drops TaskManagers silent for longer than `timeoutMs` (Flink's heartbeat.timeout); returns their ids. */
  expire(timeoutMs: number): string[] {
    const now = this.now();
    const gone = [...this.#entries.values()].filter((e) => now - e.lastHeartbeat > timeoutMs).map((e) => e.registration.id);
    for (const id of gone) this.#entries.delete(id);
    return gone;
  }

  remove(id: string): boolean {
    return this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }

  totals(): { taskManagers: number; slots: number; free: number } {
    let slots = 0;
    let used = 0;
    for (const e of this.#entries.values()) {
      slots += e.registration.slots;
      used += e.allocated.size;
    }
    return { taskManagers: this.#entries.size, slots, free: slots - used };
  }

  /**
   * `count` slots for `jobId`, replacing what it held (a restarted attempt asks again), or
   * undefined when there are not enough free. With `spread`, slots go round-robin over the
   * TaskManagers with the most free slots (cluster.evenly-spread-out-slots); without, each
   * TaskManager is filled before the next, in registration order (Flink's default).
   */
  allocate(jobId: string, count: number, spread: boolean): SlotAssignment[] | undefined {
    this.release(jobId);
    if (this.totals().free < count) return undefined;
    const free = [...this.#entries.values()].map((e) => ({ e, slots: Array.from({ length: e.registration.slots }, (_, i) => i).filter((i) => !e.allocated.has(i)) }));
    const picked: { e: Entry; slot: number }[] = [];
    while (picked.length < count) {
      const candidates = free.filter((f) => f.slots.length > 0);
      const from = spread ? candidates.reduce((best, f) => (f.slots.length > best.slots.length ? f : best)) : candidates[0]!;
      picked.push({ e: from.e, slot: from.slots.shift()! });
    }
    for (const p of picked) {
      p.e.allocated.set(p.slot, jobId);
      p.e.idleSince = undefined;
    }
    return picked.map((p) => ({ taskManagerId: p.e.registration.id, host: p.e.registration.host, port: p.e.registration.port }));
  }

  release(jobId: string): void {
    for (const e of this.#entries.values()) {
      for (const [slot, job] of e.allocated) if (job === jobId) e.allocated.delete(slot);
      if (e.allocated.size === 0) e.idleSince ??= this.now();
    }
  }

  usage(): TaskManagerUsage[] {
    return [...this.#entries.values()].map((e) => ({ id: e.registration.id, pid: e.registration.pid, slots: e.registration.slots, used: e.allocated.size, idleSinceMs: e.idleSince }));
  }

  list(): TaskManagerInfo[] {
    return [...this.#entries.values()].map((e) => {
      const r = e.registration;
      return {
        id: r.id,
        path: `tsflink://${r.host}:${r.port}`,
        dataPort: r.port,
        jmxPort: -1,
        timeSinceLastHeartbeat: e.lastHeartbeat,
        slotsNumber: r.slots,
        freeSlots: r.slots - e.allocated.size,
        hardware: { cpuCores: r.hardware?.cpuCores ?? 0, physicalMemory: r.hardware?.physicalMemory ?? 0, freeMemory: r.hardware?.freeMemory ?? 0, managedMemory: 0 },
        blocked: false,
      };
    });
  }
}
