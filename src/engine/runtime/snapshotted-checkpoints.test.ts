import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnapshottedCheckpoints } from './snapshotted-checkpoints.ts';

describe('SnapshottedCheckpoints', () => {
  it('starts each checkpoint once, and none older than the last started (out of order, as Flink)', () => {
    const s = new SnapshottedCheckpoints();
    expect(s.begin(1)).toBe(true);
    expect(s.begin(1)).toBe(false); // a finished subtask asked twice
    expect(s.begin(3)).toBe(true);
    expect(s.begin(2)).toBe(false);
    expect(s.begin(4)).toBe(true);
  });

  it('knows a savepoint until a checkpoint at or above it completes, or it is aborted', () => {
    const s = new SnapshottedCheckpoints();
    for (const id of [1, 2, 3]) s.begin(id);
    s.savepoint(2);
    s.savepoint(3);
    expect(s.isSavepoint(2)).toBe(true);
    expect(s.isSavepoint(1)).toBe(false);
    s.completed(1);
    expect(s.isSavepoint(2)).toBe(true);
    s.aborted(3);
    expect(s.isSavepoint(3)).toBe(false);
    s.completed(2);
    expect(s.size).toBe(0);
  });

  it('stays bounded over 10,000 checkpoints and savepoints, completed or not', () => {
    const s = new SnapshottedCheckpoints();
    for (let id = 1; id <= 10_000; id++) {
      expect(s.begin(id)).toBe(true);
      if (id % 3 === 0) s.savepoint(id);
      if (id % 10 === 0) s.completed(id - 1);
    }
    expect(s.size).toBeLessThanOrEqual(2);
    // A job that only takes savepoints (no periodic checkpoints, so no completions) stays within the limit.
    const only = new SnapshottedCheckpoints(16);
    for (let id = 1; id <= 10_000; id++) {
      only.begin(id);
      only.savepoint(id);
    }
    expect(only.size).toBe(16);
    expect(only.isSavepoint(10_000)).toBe(true);
  });

  it('begins exactly the ids above every one begun before', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 60 }), (ids) => {
        const s = new SnapshottedCheckpoints();
        let last = -1;
        for (const id of ids) {
          expect(s.begin(id)).toBe(id > last);
          last = Math.max(last, id);
        }
      }),
    );
  });
});
