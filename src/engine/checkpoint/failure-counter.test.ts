import { describe, expect, it } from 'vitest';
import { type CheckpointConfig, defaultCheckpointConfig } from './checkpoint-config.ts';
import { type CheckpointId, type SnapshotKind, toCheckpointId as id } from './checkpoint-types.ts';
import {
  type CheckpointFailureReason,
  type FailureCounter,
  type FailureOutcome,
  initialFailureCounter,
  onCheckpointFailure,
  onSnapshotSuccess,
} from './failure-counter.ts';

const config = (tolerableFailures: number): CheckpointConfig => ({ ...defaultCheckpointConfig, tolerableFailures });

type Event =
  | readonly ['fail', number | null, CheckpointFailureReason, SnapshotKind?]
  | readonly ['success', number];

/** Runs events in order and returns the effect of each failure ('-' for successes). */
function run(tolerable: number, events: readonly Event[]): string[] {
  let counter: FailureCounter = initialFailureCounter;
  return events.map((event) => {
    if (event[0] === 'success') {
      counter = onSnapshotSuccess(counter, id(event[1]));
      return '-';
    }
    const [, n, reason, snapshot = 'checkpoint'] = event;
    const checkpointId: CheckpointId | null = n === null ? null : id(n);
    const outcome: FailureOutcome = onCheckpointFailure(config(tolerable), counter, { checkpointId, snapshot, reason });
    counter = outcome.counter;
    expect(outcome.failJob).toBe(outcome.effect === 'threshold-exceeded' || outcome.effect === 'stop-with-savepoint-failed');
    return outcome.effect;
  });
}

describe('onCheckpointFailure', () => {
  it.each<[string, number, readonly Event[], readonly string[]]>([
    ['tolerable 0 fails on the first counted failure', 0, [['fail', 1, 'expired']], ['threshold-exceeded']],
    ['tolerable 2 fails on the third consecutive', 2, [['fail', 1, 'expired'], ['fail', 2, 'declined'], ['fail', 3, 'storage']], ['counted', 'counted', 'threshold-exceeded']],
    ['a success resets the count', 1, [['fail', 1, 'expired'], ['success', 2], ['fail', 3, 'expired'], ['fail', 4, 'async-failure']], ['counted', '-', 'counted', 'threshold-exceeded']],
    ['the count starts again after failing the job', 1, [['fail', 1, 'expired'], ['fail', 2, 'expired'], ['fail', 3, 'expired']], ['counted', 'threshold-exceeded', 'counted']],
    ['one checkpoint counts once however many tasks decline it', 1, [['fail', 1, 'declined'], ['fail', 1, 'declined'], ['fail', 1, 'async-failure']], ['counted', 'ignored', 'ignored']],
    ['failures without an id always count', 1, [['fail', null, 'storage'], ['fail', null, 'storage']], ['counted', 'threshold-exceeded']],
    ['a failure older than the last success is ignored', 0, [['success', 5], ['fail', 4, 'expired'], ['fail', 6, 'expired']], ['-', 'ignored', 'threshold-exceeded']],
    ['an older success does not reset the count', 1, [['success', 5], ['fail', 6, 'expired'], ['success', 3], ['fail', 7, 'expired']], ['-', 'counted', '-', 'threshold-exceeded']],
    ['reasons a failover cannot cure are ignored', 0, [
      ['fail', 1, 'task-failure'], ['fail', 2, 'task-not-ready'], ['fail', 3, 'not-all-tasks-running'], ['fail', 4, 'subsumed'],
      ['fail', 5, 'trigger-failure'], ['fail', 6, 'finalize-failure'], ['fail', 7, 'coordinator-shutdown'],
    ], ['ignored', 'ignored', 'ignored', 'ignored', 'ignored', 'ignored', 'ignored']],
    ['a task declining for a newer barrier or for a cancellation from its input is not counted', 0, [['fail', 1, 'declined-subsumed'], ['fail', 2, 'declined-on-cancellation-barrier'], ['fail', 3, 'declined-subsumed', 'savepoint']], ['ignored', 'ignored', 'ignored']],
    ['but fails a stop-with-savepoint at once, as any decline of one', 5, [['fail', 1, 'declined-on-cancellation-barrier', 'stop-with-savepoint']], ['stop-with-savepoint-failed']],
    ['ignored failures do not break a run of counted ones', 1, [['fail', 1, 'expired'], ['fail', 2, 'subsumed'], ['fail', 3, 'expired']], ['counted', 'ignored', 'threshold-exceeded']],
    ['savepoint failures found by the coordinator never count', 0, [['fail', 1, 'expired', 'savepoint'], ['fail', 2, 'storage', 'savepoint'], ['fail', 3, 'expired', 'stop-with-savepoint']], ['ignored', 'ignored', 'ignored']],
    ['savepoint failures reported by a task count', 0, [['fail', 1, 'declined', 'savepoint']], ['threshold-exceeded']],
    // README: a savepoint a subtask fails to write is not one "the JobManager cannot write".
    ['a savepoint a task fails to write counts, and fails a stop at once', 5, [['fail', 1, 'async-failure', 'savepoint'], ['fail', 2, 'async-failure', 'stop-with-savepoint']], ['counted', 'stop-with-savepoint-failed']],
    ['a task failing a stop-with-savepoint fails the job at once', 5, [['fail', 1, 'declined', 'stop-with-savepoint']], ['stop-with-savepoint-failed']],
    ['even for a reason otherwise ignored', 5, [['fail', 1, 'task-not-ready', 'stop-with-savepoint']], ['stop-with-savepoint-failed']],
    ['a savepoint success resets the count too', 1, [['fail', 1, 'expired'], ['success', 2], ['fail', 3, 'expired']], ['counted', '-', 'counted']],
    ['a savepoint failure that does not count does not reset the count either', 1, [['fail', 1, 'expired'], ['fail', 2, 'expired', 'savepoint'], ['fail', 3, 'expired']], ['counted', 'ignored', 'threshold-exceeded']],
    ['a savepoint failure reported by a task is one of the consecutive failures', 1, [['fail', 1, 'expired'], ['fail', 2, 'declined', 'savepoint']], ['counted', 'threshold-exceeded']],
  ])('%s', (_name, tolerable, events, effects) => {
    expect(run(tolerable, events)).toEqual(effects);
  });

  it('does not change the counter it is given', () => {
    const before = { consecutive: 1, countedIds: [id(1)], lastSucceededId: null };
    onCheckpointFailure(config(5), before, { checkpointId: id(2), snapshot: 'checkpoint', reason: 'expired' });
    expect(before).toEqual({ consecutive: 1, countedIds: [id(1)], lastSucceededId: null });
  });
});
