import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DemandInput, type LocalTaskManagerState, decideTaskManagers } from './task-manager-demand.ts';

const base: DemandInput = { pending: [], freeSlots: 0, totalSlots: 0, starting: 0, local: [], slotsPerTaskManager: 2, maxSlots: Number.POSITIVE_INFINITY, minTaskManagers: 1, idleTimeoutMs: 30_000, nowMs: 100_000 };
const tm = (id: string, used: number, idleSinceMs?: number): LocalTaskManagerState => ({ id, slots: 2, used, idleSinceMs });

describe('decideTaskManagers', () => {
  it('starts enough TaskManagers for a job that needs more slots than are free', () => {
    // One TaskManager of 2 slots, a job at -p 3: one more.
    expect(decideTaskManagers({ ...base, pending: [3], freeSlots: 2, totalSlots: 2, local: [tm('a', 0, 0)] })).toEqual({ start: 1, stop: [] });
    // Two jobs waiting, 6 slots, 1 free: three more.
    expect(decideTaskManagers({ ...base, pending: [3, 3], freeSlots: 1, totalSlots: 2, local: [tm('a', 1)] })).toEqual({ start: 3, stop: [] });
  });

  it('counts TaskManagers still starting, and starts none while the free slots cover the requests', () => {
    expect(decideTaskManagers({ ...base, pending: [3], freeSlots: 2, totalSlots: 2, starting: 1, local: [tm('a', 0, 0)] })).toEqual({ start: 0, stop: [] });
    expect(decideTaskManagers({ ...base, pending: [2], freeSlots: 2, totalSlots: 2, local: [tm('a', 0, 0)] })).toEqual({ start: 0, stop: [] });
  });

  it('starts none that would take the slots past slotmanager.number-of-slots.max', () => {
    expect(decideTaskManagers({ ...base, pending: [9], freeSlots: 2, totalSlots: 2, maxSlots: 6, local: [tm('a', 0, 0)] })).toEqual({ start: 2, stop: [] });
    expect(decideTaskManagers({ ...base, pending: [9], freeSlots: 2, totalSlots: 2, maxSlots: 3, local: [tm('a', 0, 0)] })).toEqual({ start: 0, stop: [] });
  });

  it('stops TaskManagers idle for the timeout, newest first, keeping taskmanager.count', () => {
    const local = [tm('a', 0, 0), tm('b', 0, 50_000), tm('c', 0, 90_000), tm('d', 1)];
    // c has been idle 10 s only, d holds a slot; b goes, and a (idle long) too since d stays.
    expect(decideTaskManagers({ ...base, local })).toEqual({ start: 0, stop: ['b', 'a'] });
    expect(decideTaskManagers({ ...base, local, minTaskManagers: 3 })).toEqual({ start: 0, stop: ['b'] });
    expect(decideTaskManagers({ ...base, local: [tm('a', 0, 0)] })).toEqual({ start: 0, stop: [] });
  });

  it('stops none while a request waits', () => {
    expect(decideTaskManagers({ ...base, pending: [2], freeSlots: 4, totalSlots: 4, local: [tm('a', 0, 0), tm('b', 0, 0)] })).toEqual({ start: 0, stop: [] });
  });

  it('covers the waiting requests within the bound, and never starts and stops at once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.record({ used: fc.integer({ min: 0, max: 8 }), idle: fc.integer({ min: 0, max: 100_000 }) }), { maxLength: 6 }),
        (pending, min, spt, starting, max, states) => {
          const local = states.map((s, i) => ({ id: `tm${i}`, slots: Math.max(s.used, spt), used: s.used, idleSinceMs: s.used === 0 ? s.idle : undefined }));
          const totalSlots = local.reduce((n, t) => n + t.slots, 0);
          const freeSlots = local.reduce((n, t) => n + t.slots - t.used, 0);
          const input: DemandInput = { ...base, pending, minTaskManagers: min, slotsPerTaskManager: spt, starting, maxSlots: max, local, totalSlots, freeSlots };
          const d = decideTaskManagers(input);
          expect(d.start === 0 || d.stop.length === 0).toBe(true);
          const wanted = pending.reduce((a, b) => a + b, 0);
          const coming = (starting + d.start) * spt;
          const fitsUnderMax = totalSlots + coming <= Math.max(max, totalSlots + starting * spt);
          expect(fitsUnderMax).toBe(true);
          // Either the requests are covered, or the bound stopped more from starting.
          if (wanted > 0) expect(freeSlots + coming >= wanted || totalSlots + coming + spt > max).toBe(true);
          else expect(d.start).toBe(0);
          expect(local.length + starting - d.stop.length).toBeGreaterThanOrEqual(Math.min(min, local.length + starting));
          for (const id of d.stop) expect(local.find((t) => t.id === id)!.used).toBe(0);
        },
      ),
    );
  });
});
