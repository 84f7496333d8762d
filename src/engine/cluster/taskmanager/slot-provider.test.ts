import { describe, expect, it } from 'vitest';
import { registrySlotProvider } from './slot-provider.ts';
import { TaskManagerRegistry } from './task-manager-registry.ts';

describe('registrySlotProvider', () => {
  it('gives a waiting request the slots of a TaskManager that registers, and counts it as pending until then', async () => {
    const registry = new TaskManagerRegistry();
    const provider = registrySlotProvider(registry, { spreadOut: false });
    const request = provider.request('job1', 2, 60_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(provider.pending()).toEqual([2]);
    registry.register({ id: 'tm', host: '127.0.0.1', port: 40_000, slots: 2, pid: 1 });
    expect((await request).map((s) => s.taskManagerId)).toEqual(['tm', 'tm']);
    expect(provider.pending()).toEqual([]);
  });

  it('withdraws the waiting request of a job that ended (released), so it never takes slots for nobody', async () => {
    const registry = new TaskManagerRegistry();
    const provider = registrySlotProvider(registry, { spreadOut: false });
    const request = provider.request('job1', 1, 60_000);
    const other = provider.request('job2', 1, 60_000);
    await new Promise((r) => setTimeout(r, 10));
    provider.release('job1');
    await expect(request).rejects.toThrow('The slot request of job job1 was withdrawn: the job ended while it waited for 1 task slot.');
    registry.register({ id: 'tm', host: '127.0.0.1', port: 40_000, slots: 1, pid: 1 });
    expect((await other).map((s) => s.taskManagerId)).toEqual(['tm']);
    expect(registry.totals().free).toBe(0);
  });
});
