import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { type CheckpointConfig, defaultCheckpointConfig } from './checkpoint-config.ts';
import { type PendingCheckpoint, type SnapshotKind, toCheckpointId as id } from './checkpoint-types.ts';
import {
  decideTrigger,
  expiredCheckpoints,
  isForced,
  nextExpiry,
  type TriggerDecision,
  type TriggerRequest,
} from './trigger-decision.ts';

const base: CheckpointConfig = { ...defaultCheckpointConfig, interval: 1000, timeout: 10_000 };
const pending = (n: number, kind: SnapshotKind = 'checkpoint', triggeredAt = 0): PendingCheckpoint => ({ id: id(n), kind, triggeredAt });

interface Row {
  readonly name: string;
  readonly config?: Partial<CheckpointConfig>;
  readonly now?: number;
  readonly pending?: readonly PendingCheckpoint[];
  readonly lastCompletedEndTime?: number | null;
  readonly request: TriggerRequest;
  readonly expected: TriggerDecision;
}

const rows: readonly Row[] = [
  // periodic: max concurrent
  { name: 'periodic, nothing pending', request: 'periodic', now: 100, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 10_100 } },
  { name: 'periodic, one pending of one', request: 'periodic', now: 100, pending: [pending(6, 'checkpoint', 50)], expected: { kind: 'wait', until: 10_050, reason: 'max-concurrent' } },
  { name: 'periodic, one pending of two', config: { maxConcurrent: 2 }, request: 'periodic', now: 100, pending: [pending(6)], expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 10_100 } },
  { name: 'periodic, two pending of two, waits for the first to expire', config: { maxConcurrent: 2 }, request: 'periodic', now: 100, pending: [pending(5, 'checkpoint', 40), pending(6, 'checkpoint', 20)], expected: { kind: 'wait', until: 10_020, reason: 'max-concurrent' } },
  { name: 'periodic, a pending savepoint takes the slot too', request: 'periodic', now: 100, pending: [pending(6, 'savepoint')], expected: { kind: 'wait', until: 10_000, reason: 'max-concurrent' } },
  // periodic: min pause, counted from the end of the last completion
  { name: 'periodic, inside the pause', config: { minPause: 500 }, request: 'periodic', now: 1200, lastCompletedEndTime: 1000, expected: { kind: 'wait', until: 1500, reason: 'min-pause' } },
  { name: 'periodic, pause just over', config: { minPause: 500 }, request: 'periodic', now: 1500, lastCompletedEndTime: 1000, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 11_500 } },
  { name: 'periodic, pause but nothing ever completed', config: { minPause: 500 }, request: 'periodic', now: 10, lastCompletedEndTime: null, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 10_010 } },
  { name: 'periodic, no pause configured', request: 'periodic', now: 1000, lastCompletedEndTime: 1000, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 11_000 } },
  { name: 'periodic, max concurrent is checked before the pause', config: { minPause: 500 }, request: 'periodic', now: 1200, lastCompletedEndTime: 1000, pending: [pending(6)], expected: { kind: 'wait', until: 10_000, reason: 'max-concurrent' } },
  { name: 'periodic, the pause does not force one at a time (Flink code, not its old docs)', config: { minPause: 500, maxConcurrent: 2 }, request: 'periodic', now: 5000, lastCompletedEndTime: 1000, pending: [pending(6, 'checkpoint', 4000)], expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 15_000 } },
  { name: 'periodic, checkpointing off', config: { interval: null }, request: 'periodic', expected: { kind: 'skip', reason: 'periodic-checkpoints-off' } },
  // manual checkpoints: no pause, but max concurrent
  { name: 'manual, inside the pause', config: { minPause: 500 }, request: 'manual-checkpoint', now: 1200, lastCompletedEndTime: 1000, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 11_200 } },
  { name: 'manual, slots full: queued', request: 'manual-checkpoint', now: 100, pending: [pending(6)], expected: { kind: 'wait', until: 10_000, reason: 'max-concurrent' } },
  { name: 'manual, checkpointing off still works', config: { interval: null }, request: 'manual-checkpoint', now: 0, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'checkpoint', expiresAt: 10_000 } },
  // savepoints: forced past both, unless unaligned checkpoints are on
  { name: 'savepoint, slots full', request: 'savepoint', now: 100, pending: [pending(6)], expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'savepoint', expiresAt: 10_100 } },
  { name: 'savepoint, inside the pause', config: { minPause: 500 }, request: 'savepoint', now: 1200, lastCompletedEndTime: 1000, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'savepoint', expiresAt: 11_200 } },
  { name: 'savepoint, checkpointing off', config: { interval: null }, request: 'savepoint', now: 0, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'savepoint', expiresAt: 10_000 } },
  { name: 'stop-with-savepoint, slots full', request: 'stop-with-savepoint', now: 0, pending: [pending(6)], expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'stop-with-savepoint', expiresAt: 10_000 } },
  { name: 'savepoint with unaligned checkpoints, slots full: queued', config: { unalignedEnabled: true }, request: 'savepoint', now: 0, pending: [pending(6)], expected: { kind: 'wait', until: 10_000, reason: 'max-concurrent' } },
  { name: 'savepoint with unaligned checkpoints, inside the pause', config: { unalignedEnabled: true, minPause: 500 }, request: 'savepoint', now: 1200, lastCompletedEndTime: 1000, expected: { kind: 'trigger', checkpointId: id(7), snapshot: 'savepoint', expiresAt: 11_200 } },
];

describe('decideTrigger', () => {
  it.each(rows)('$name', (row) => {
    const config = { ...base, ...row.config };
    const decision = decideTrigger(config, {
      now: row.now ?? 0,
      pending: row.pending ?? [],
      lastCompletedEndTime: row.lastCompletedEndTime ?? null,
      nextIdCandidate: id(7),
      request: row.request,
    });
    expect(decision).toEqual(row.expected);
  });

  it('refuses an id that is not above the pending ones', () => {
    const facts = { now: 0, pending: [pending(7)], lastCompletedEndTime: null, nextIdCandidate: id(7), request: 'savepoint' as const };
    expect(() => decideTrigger(base, facts)).toThrow(InternalError);
  });
});

describe('isForced', () => {
  it.each<[TriggerRequest, boolean, boolean]>([
    ['periodic', false, false],
    ['manual-checkpoint', false, false],
    ['savepoint', false, true],
    ['stop-with-savepoint', false, true],
    ['savepoint', true, false],
    ['stop-with-savepoint', true, false],
  ])('%s with unaligned %s: %s', (request, unalignedEnabled, forced) => {
    expect(isForced({ ...base, unalignedEnabled }, request)).toBe(forced);
  });
});

describe('expiry', () => {
  const list = [pending(3, 'checkpoint', 500), pending(1, 'savepoint', 0), pending(2, 'checkpoint', 100)];

  it.each([
    [9_999, []],
    [10_000, [1]],
    [10_100, [1, 2]],
    [20_000, [1, 2, 3]],
  ])('at %d the expired ones are %j (savepoints too)', (now, ids) => {
    expect(expiredCheckpoints(base, list, now)).toEqual(ids);
  });

  it('says when to wake up next', () => {
    expect(nextExpiry(base, list)).toBe(10_000);
    expect(nextExpiry(base, [])).toBeNull();
  });
});
