import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LocalTaskManagers } from './local-task-managers.ts';
import { startResourceManager } from './resource-manager.ts';
import type { SlotProvider } from './slot-provider.ts';
import { TaskManagerRegistry } from './task-manager-registry.ts';

/** Local TaskManagers as numbers and pids only: what the resource manager reads and starts. */
function fakeLocal(pids: number[]): LocalTaskManagers & { readonly started: number[]; kill(pid: number): void } {
  const running = new Map<number, number | undefined>(pids.map((pid, i) => [i + 1, pid] as const));
  const started: number[] = [];
  let nextPid = 1000;
  return {
    started,
    // As local-task-managers.ts after a death: the number waits to start again, without a pid.
    kill: (pid) => {
      for (const [n, p] of running) if (p === pid) running.set(n, undefined);
    },
    add: () => {
      const n = running.size + 1;
      running.set(n, nextPid++);
      started.push(n);
      return n;
    },
    pids: () => new Map(running),
    retire: () => false,
    stop: async () => undefined,
  };
}

describe('the resource manager, when a local TaskManager goes silent without dying', () => {
  let clock = 0;
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  const setUp = (pids: number[]) => {
    const registry = new TaskManagerRegistry(() => clock);
    for (const pid of pids) registry.register({ id: `tm-${pid}`, host: '127.0.0.1', port: pid, slots: 2, pid, hardware: { cpuCores: 2, physicalMemory: 1, freeMemory: 1 } });
    const local = fakeLocal(pids);
    const waiting: number[] = [];
    const slots = { pending: () => waiting } as unknown as SlotProvider; // only pending() is read
    const rm = startResourceManager({ registry, slots, local, minTaskManagers: pids.length, slotsPerTaskManager: 2, maxSlots: 100, idleTimeoutMs: 30_000, log: () => undefined, now: () => clock, intervalMs: 100 });
    return { registry, local, waiting, rm };
  };

  it('starts a replacement for a stopped (SIGSTOP) TaskManager the registry expired, when a job waits for its slots', () => {
    const { registry, local, waiting, rm } = setUp([11]);
    vi.advanceTimersByTime(100); // seen registered
    clock += 4000;
    expect(registry.expire(3000)).toEqual(['tm-11']);
    waiting.push(2); // the failed attempt's restart asks for its slots again
    vi.advanceTimersByTime(100);
    expect(local.started).toEqual([2]);
    rm.close();
  });

  it('forgets a local TaskManager whose process ended at once, not after heartbeat.timeout, so its slots are offered to no job', () => {
    const { registry, local, rm } = setUp([11, 12]);
    vi.advanceTimersByTime(100); // both seen registered
    local.kill(11);
    vi.advanceTimersByTime(100);
    expect(registry.usage().map((u) => u.id)).toEqual(['tm-12']);
    expect(registry.allocate('job', 4, false)).toBeUndefined();
    expect(registry.allocate('job', 2, false)?.map((a) => a.taskManagerId)).toEqual(['tm-12', 'tm-12']);
    rm.close();
  });

  it('still counts a TaskManager that never registered yet as coming', () => {
    const { local, waiting, rm } = setUp([]);
    local.add(); // started, not registered
    local.started.length = 0;
    waiting.push(2);
    vi.advanceTimersByTime(300);
    expect(local.started).toEqual([]);
    rm.close();
  });
});
