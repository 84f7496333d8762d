import { describe, expect, it } from 'vitest';
import { SlotSnapshots } from './slot-snapshots.ts';

const cp = { savepoint: false };
const sp = { savepoint: true };

describe('SlotSnapshots', () => {
  it('answers for a snapshot started, and settles it when it completes or aborts', () => {
    const s = new SlotSnapshots<{ savepoint: boolean }>();
    s.started(1, cp);
    s.started(2, sp);
    expect(s.get(1)).toBe(cp);
    expect(s.pending().map(([id]) => id)).toEqual([1, 2]);
    expect(s.settled(3)).toBe(false); // a barrier overtook its start: the request waits
    expect(s.settle(1, 'completed')).toBe(cp);
    expect(s.settled(1)).toBe(true);
    expect(s.get(2)).toBe(sp); // a savepoint above the completed checkpoint is still under way
    expect(s.settle(3, 'aborted')).toBeUndefined();
    expect(s.settled(3)).toBe(true);
    s.started(3, cp); // its start came after its abort
    expect(s.get(3)).toBeUndefined();
  });

  it('a completed checkpoint settles the older ones, and the savepoints below it (never notified)', () => {
    const s = new SlotSnapshots<{ savepoint: boolean }>();
    s.started(4, sp);
    s.started(5, cp);
    s.settle(5, 'completed');
    expect(s.get(4)).toBeUndefined();
    expect(s.settled(2)).toBe(true);
    expect(s.size).toEqual({ started: 0, aborted: 0 });
  });

  it('stays bounded over 10,000 checkpoints, savepoints and aborts', () => {
    const s = new SlotSnapshots<{ savepoint: boolean }>();
    for (let id = 1; id <= 10_000; id++) {
      s.started(id, id % 7 === 0 ? sp : cp);
      if (id % 7 === 0) continue; // a savepoint: its completion is not notified
      s.settle(id, id % 5 === 0 ? 'aborted' : 'completed');
    }
    expect(s.size.started).toBeLessThanOrEqual(1);
    expect(s.size.aborted).toBeLessThanOrEqual(1);
    for (let id = 1; id <= 10_000; id++) expect(s.settled(id) || id === 10_000 - (10_000 % 7)).toBe(true);
    // Nothing ever completes: the aborted ones are kept up to the limit, the oldest forgotten.
    const failing = new SlotSnapshots<{ savepoint: boolean }>(16);
    for (let id = 1; id <= 10_000; id++) {
      failing.started(id, cp);
      failing.settle(id, 'aborted');
    }
    expect(failing.size).toEqual({ started: 0, aborted: 16 });
    expect(failing.settled(10_000)).toBe(true);
  });
});
