import { describe, expect, it } from 'vitest';
import { type PendingCheckpoint, type SnapshotKind, toCheckpointId as id } from './checkpoint-types.ts';
import { onCheckpointCompleted } from './completion-decision.ts';
import { initialFailureCounter } from './failure-counter.ts';

const pending = (n: number, kind: SnapshotKind = 'checkpoint'): PendingCheckpoint => ({ id: id(n), kind, triggeredAt: 0 });
const others = [pending(2), pending(3, 'savepoint'), pending(4), pending(6), pending(7, 'stop-with-savepoint')];

describe('onCheckpointCompleted', () => {
  it.each<[SnapshotKind, readonly number[], boolean, boolean]>([
    ['checkpoint', [2, 4], true, true],
    ['stop-with-savepoint', [2, 4], false, true],
    ['savepoint', [], false, false],
  ])('a completed %s subsumes %j, store %s, notify %s', (kind, subsumed, addToStore, notifyTasks) => {
    const outcome = onCheckpointCompleted({ now: 1234, completed: { id: id(5), kind }, pending: others, counter: initialFailureCounter });
    expect(outcome).toEqual({
      counter: { consecutive: 0, countedIds: [], lastSucceededId: 5 },
      subsumed,
      addToStore,
      notifyTasks,
      lastCompletedEndTime: 1234,
    });
  });

  it('resets the failure count', () => {
    const counter = { consecutive: 3, countedIds: [id(2), id(3), id(4)], lastSucceededId: id(1) };
    const outcome = onCheckpointCompleted({ now: 0, completed: { id: id(5), kind: 'checkpoint' }, pending: [], counter });
    expect(outcome.counter).toEqual({ consecutive: 0, countedIds: [], lastSucceededId: 5 });
  });

  it('never subsumes newer pending checkpoints', () => {
    const outcome = onCheckpointCompleted({ now: 0, completed: { id: id(1), kind: 'checkpoint' }, pending: others, counter: initialFailureCounter });
    expect(outcome.subsumed).toEqual([]);
  });
});
