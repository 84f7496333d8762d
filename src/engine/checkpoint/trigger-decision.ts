/**
 * Whether a checkpoint or savepoint may start now: Flink's CheckpointRequestDecider
 * (`chooseRequestToExecute`) as a pure function, plus the timeout rule of its checkpoint canceller.
 *
 * Flink's rules, in its order:
 * 1. When as many snapshots are pending as `maxConcurrent` allows (savepoints included in the
 *    count), only a *forced* request may start; others stay queued until one completes, fails or
 *    expires. Savepoints are forced unless unaligned checkpoints are on
 *    (`CheckpointProperties.forSavepoint(!unalignedCheckpointsEnabled, ...)`); checkpoints,
 *    periodic or manual (`flink checkpoint`, REST), are never forced.
 * 2. A periodic, unforced request must also wait until `minPause` has passed since the last
 *    completion (Flink drops it and reschedules the periodic trigger after the remaining delay,
 *    which is the same as waiting). Manual checkpoints and savepoints ignore the pause.
 *
 * Flink's 1.2 documentation said a minimum pause implies one checkpoint at a time; its code does
 * not enforce that, and today's option text only says so for `maxConcurrent` 1: with
 * `maxConcurrent` > 1 a second checkpoint may start while one is pending if the last completion
 * is long enough ago. We follow the code.
 *
 * Two details of Flink's decider stay with the caller: it starts one trigger at a time
 * (`isTriggering`), and it holds requests while more checkpoints are being deleted than
 * `maxConcurrent`. Flink queues a request that must wait; tsflink's coordinator queues manual
 * checkpoints (oldest first, before the periodic one) and the periodic trigger; savepoints are
 * forced, so they wait only with unaligned checkpoints, which are not built.
 */
import type { CheckpointConfig } from './checkpoint-config.ts';
import { InternalError } from '../../errors.ts';
import type { CheckpointId, PendingCheckpoint, SnapshotKind } from './checkpoint-types.ts';

/** Who asks for a snapshot. */
export type TriggerRequest = 'periodic' | 'manual-checkpoint' | 'savepoint' | 'stop-with-savepoint';

export interface TriggerFacts {
  readonly now: number;
  /** Every pending snapshot; call `expiredCheckpoints` first and abort those, as Flink's canceller would have. */
  readonly pending: readonly PendingCheckpoint[];
  /** When the last checkpoint or savepoint completed (Flink counts both), or null if none has. */
  readonly lastCompletedEndTime: number | null;
  /** The id the next snapshot gets if it starts: the id counter's value, above every id used so far. */
  readonly nextIdCandidate: CheckpointId;
  readonly request: TriggerRequest;
}

export type TriggerDecision =
  /** Start it with this id (then advance the id counter); it expires at `expiresAt`. */
  | { readonly kind: 'trigger'; readonly checkpointId: CheckpointId; readonly snapshot: SnapshotKind; readonly expiresAt: number }
  /**
   * Keep the request and decide again at `until`, or as soon as a pending snapshot completes,
   * fails or expires (Flink re-examines its queue then). For `max-concurrent`, `until` is when
   * the first pending snapshot expires, the latest moment a slot frees up.
   */
  | { readonly kind: 'wait'; readonly until: number; readonly reason: 'max-concurrent' | 'min-pause' }
  /** Drop the request. */
  | { readonly kind: 'skip'; readonly reason: 'periodic-checkpoints-off' };

export function decideTrigger(config: CheckpointConfig, facts: TriggerFacts): TriggerDecision {
  const { now, pending, request } = facts;
  const newest = Math.max(0, ...pending.map((p) => p.id));
  if (facts.nextIdCandidate <= newest) {
    throw new InternalError(`next checkpoint id ${facts.nextIdCandidate} is not above pending checkpoint ${newest}`);
  }
  // Flink schedules no periodic trigger without an interval, but the coordinator still exists for
  // savepoints and manual checkpoints, so only periodic requests are refused.
  if (request === 'periodic' && config.interval === null) return { kind: 'skip', reason: 'periodic-checkpoints-off' };

  if (pending.length >= config.maxConcurrent && !isForced(config, request)) {
    return { kind: 'wait', until: Math.min(...pending.map((p) => p.triggeredAt + config.timeout)), reason: 'max-concurrent' };
  }
  if (request === 'periodic' && facts.lastCompletedEndTime !== null) {
    const earliest = facts.lastCompletedEndTime + config.minPause;
    if (now < earliest) return { kind: 'wait', until: earliest, reason: 'min-pause' };
  }
  return { kind: 'trigger', checkpointId: facts.nextIdCandidate, snapshot: snapshotKindOf(request), expiresAt: now + config.timeout };
}

/** Forced requests bypass `maxConcurrent` and are never subsumed by newer checkpoints. */
export function isForced(config: CheckpointConfig, request: TriggerRequest): boolean {
  // Flink makes savepoints unforced when unaligned checkpoints are on, so that they queue behind
  // a pending unaligned checkpoint instead of running beside it.
  return (request === 'savepoint' || request === 'stop-with-savepoint') && !config.unalignedEnabled;
}

export function snapshotKindOf(request: TriggerRequest): SnapshotKind {
  return request === 'periodic' || request === 'manual-checkpoint' ? 'checkpoint' : request;
}

/** The pending snapshots whose timeout has passed at `now`, by id (Flink: CHECKPOINT_EXPIRED). Savepoints expire too. */
export function expiredCheckpoints(config: CheckpointConfig, pending: readonly PendingCheckpoint[], now: number): CheckpointId[] {
  return pending
    .filter((p) => now >= p.triggeredAt + config.timeout)
    .map((p) => p.id)
    .sort((a, b) => a - b);
}

/** When the next pending snapshot expires (for the caller's one timer), or null if none is pending. */
export function nextExpiry(config: CheckpointConfig, pending: readonly PendingCheckpoint[]): number | null {
  return pending.length === 0 ? null : Math.min(...pending.map((p) => p.triggeredAt + config.timeout));
}
