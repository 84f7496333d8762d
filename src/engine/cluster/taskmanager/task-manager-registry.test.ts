import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TaskManagerRegistration, TaskManagerRegistry } from './task-manager-registry.ts';

const tm = (id: string, slots: number): TaskManagerRegistration => ({ id, host: '127.0.0.1', port: 40_000 + id.length, slots, pid: 1 });

describe('TaskManagerRegistry', () => {
  it('drops a TaskManager silent for longer than the timeout, and forgets unknown heartbeats', () => {
    let now = 0;
    const r = new TaskManagerRegistry(() => now);
    r.register(tm('a', 2));
    r.register(tm('bb', 2));
    now = 400;
    expect(r.heartbeat('a')).toBe(true);
    expect(r.heartbeat('zz')).toBe(false);
    now = 600;
    expect(r.expire(500)).toEqual(['bb']);
    expect(r.totals()).toEqual({ taskManagers: 1, slots: 2, free: 2 });
  });

  it('fills one TaskManager first by default, and spreads over the freest with spread-out', () => {
    const r = new TaskManagerRegistry(() => 0);
    r.register(tm('a', 2));
    r.register(tm('bb', 2));
    expect(r.allocate('job1', 2, false)!.map((s) => s.taskManagerId)).toEqual(['a', 'a']);
    expect(r.allocate('job1', 2, true)!.map((s) => s.taskManagerId)).toEqual(['a', 'bb']);
    expect(r.list().map((t) => t.freeSlots)).toEqual([1, 1]);
  });

  it('refuses what it does not have, and a job asking again gets its own slots back first', () => {
    const r = new TaskManagerRegistry(() => 0);
    r.register(tm('a', 3));
    expect(r.allocate('job1', 2, false)).toHaveLength(2);
    expect(r.allocate('job2', 2, false)).toBeUndefined();
    expect(r.allocate('job1', 3, false)).toHaveLength(3);
    r.release('job1');
    expect(r.totals().free).toBe(3);
  });

  it('says since when each TaskManager holds no slot', () => {
    let now = 10;
    const r = new TaskManagerRegistry(() => now);
    r.register(tm('a', 2));
    r.register(tm('bb', 2));
    now = 20;
    r.allocate('job1', 3, false);
    expect(r.usage().map((u) => [u.id, u.used, u.idleSinceMs])).toEqual([['a', 2, undefined], ['bb', 1, undefined]]);
    now = 30;
    // Asking again for fewer frees bb.
    r.allocate('job1', 2, false);
    expect(r.usage().map((u) => [u.id, u.used, u.idleSinceMs])).toEqual([['a', 2, undefined], ['bb', 0, 30]]);
    now = 40;
    r.release('job1');
    expect(r.usage().map((u) => [u.id, u.used, u.idleSinceMs])).toEqual([['a', 0, 40], ['bb', 0, 30]]);
  });

  it('never hands out more slots than exist, nor one slot twice (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ job: fc.integer({ min: 0, max: 3 }), count: fc.integer({ min: 1, max: 6 }), spread: fc.boolean(), release: fc.boolean() }), { maxLength: 20 }),
        (sizes, requests) => {
          const r = new TaskManagerRegistry(() => 0);
          sizes.forEach((n, i) => r.register(tm(`tm${'x'.repeat(i)}`, n)));
          const held = new Map<number, number>();
          for (const q of requests) {
            if (q.release) {
              r.release(`job${q.job}`);
              held.delete(q.job);
              continue;
            }
            held.delete(q.job);
            const got = r.allocate(`job${q.job}`, q.count, q.spread);
            if (got !== undefined) held.set(q.job, got.length);
            const used = [...held.values()].reduce((a, b) => a + b, 0);
            expect(r.totals().free).toBe(r.totals().slots - used);
            expect(r.totals().free).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});
