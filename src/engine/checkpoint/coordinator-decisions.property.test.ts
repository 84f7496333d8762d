/**
 * A model coordinator driven by random sequences of requests, completions, failures and the
 * passing of time, asking only the pure decisions what to do; after every step it checks the
 * invariants the decisions promise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CheckpointConfig, defaultCheckpointConfig, validateCheckpointConfig } from './checkpoint-config.ts';
import {
  type CheckpointFailureReason,
  type CheckpointId,
  checkpointsToDiscard,
  type CompletedSnapshot,
  decideTrigger,
  expiredCheckpoints,
  type FailureCounter,
  FIRST_CHECKPOINT_ID,
  initialFailureCounter,
  onCheckpointCompleted,
  onCheckpointFailure,
  type PendingCheckpoint,
  toCheckpointId,
  type TriggerRequest,
} from './coordinator-decisions.ts';

type Command =
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'request'; readonly request: TriggerRequest }
  | { readonly t: 'complete'; readonly pick: number }
  | { readonly t: 'fail'; readonly pick: number; readonly reason: CheckpointFailureReason };

const arbConfig: fc.Arbitrary<CheckpointConfig> = fc
  .record({
    interval: fc.option(fc.integer({ min: 10, max: 5000 }), { nil: null }),
    timeout: fc.integer({ min: 10, max: 20_000 }),
    minPause: fc.integer({ min: 0, max: 3000 }),
    maxConcurrent: fc.integer({ min: 1, max: 4 }),
    tolerableFailures: fc.integer({ min: 0, max: 3 }),
    numRetained: fc.integer({ min: 1, max: 4 }),
    unalignedEnabled: fc.boolean(),
  })
  // Unaligned checkpoints are refused by validation until they are built; the pure decisions
  // already follow Flink's rules for them (savepoints not forced), so they stay in the histories.
  .map((c) => (c.unalignedEnabled ? { ...defaultCheckpointConfig, ...c, maxConcurrent: 1 } : validateCheckpointConfig({ ...defaultCheckpointConfig, ...c })));

const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4000 }) }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('request' as const),
      request: fc.constantFrom<TriggerRequest>('periodic', 'periodic', 'periodic', 'manual-checkpoint', 'savepoint', 'stop-with-savepoint'),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ t: fc.constant('complete' as const), pick: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('fail' as const),
      pick: fc.nat(),
      reason: fc.constantFrom<CheckpointFailureReason>('declined', 'async-failure', 'storage', 'task-not-ready', 'subsumed'),
    }),
    weight: 1,
  },
);

class Model {
  now = 0;
  pending: PendingCheckpoint[] = [];
  lastCompletedEndTime: number | null = null;
  nextId: CheckpointId = FIRST_CHECKPOINT_ID;
  counter: FailureCounter = initialFailureCounter;
  /** What the engine lists as completed: retained checkpoints and every savepoint. */
  known: CompletedSnapshot[] = [];
  /** Every checkpoint that ever completed, in completion order. */
  completedCheckpoints: CheckpointId[] = [];
  completedSavepoints = 0;
  triggered: CheckpointId[] = [];
  /** How often each outcome happened, to check that the histories reach every rule. */
  readonly seen = new Map<string, number>();

  constructor(readonly config: CheckpointConfig) {}

  step(command: Command): void {
    switch (command.t) {
      case 'advance':
        this.now += command.ms;
        this.#expire();
        return;
      case 'request':
        this.#expire();
        return this.#request(command.request);
      case 'complete':
        return this.#complete(command.pick);
      case 'fail':
        return this.#fail(command.pick, command.reason);
    }
  }

  #request(request: TriggerRequest): void {
    const decision = decideTrigger(this.config, {
      now: this.now,
      pending: this.pending,
      lastCompletedEndTime: this.lastCompletedEndTime,
      nextIdCandidate: this.nextId,
      request,
    });
    this.#saw(decision.kind === 'wait' ? `wait:${decision.reason}` : `${decision.kind}:${request}`);
    if (decision.kind === 'wait') {
      expect(decision.until, 'a wait always ends in the future').toBeGreaterThan(this.now);
      return;
    }
    if (decision.kind === 'skip') {
      expect(request).toBe('periodic');
      expect(this.config.interval).toBeNull();
      return;
    }
    // (b) a periodic checkpoint never starts within minPause of the last completion
    if (request === 'periodic' && this.lastCompletedEndTime !== null) {
      expect(this.now).toBeGreaterThanOrEqual(this.lastCompletedEndTime + this.config.minPause);
    }
    // (d) ids strictly increase
    const last = this.triggered.at(-1);
    if (last !== undefined) expect(decision.checkpointId).toBeGreaterThan(last);
    this.triggered.push(decision.checkpointId);
    this.pending.push({ id: decision.checkpointId, kind: decision.snapshot, triggeredAt: this.now });
    this.nextId = toCheckpointId(decision.checkpointId + 1);
  }

  #complete(pick: number): void {
    const done = this.pending[pick % Math.max(1, this.pending.length)];
    if (done === undefined) return;
    this.pending = this.pending.filter((p) => p !== done);
    const outcome = onCheckpointCompleted({
      now: this.now,
      completed: { id: done.id, kind: done.kind },
      pending: this.pending,
      counter: this.counter,
    });
    this.counter = outcome.counter;
    this.lastCompletedEndTime = outcome.lastCompletedEndTime;
    this.pending = this.pending.filter((p) => !outcome.subsumed.includes(p.id));
    this.known.push({ id: done.id, isSavepoint: !outcome.addToStore });
    if (outcome.addToStore) this.completedCheckpoints.push(done.id);
    else this.completedSavepoints++;
    if (outcome.subsumed.length > 0) this.#saw('subsumed');

    const discard = checkpointsToDiscard(this.config, this.known);
    for (const gone of discard) {
      expect(this.known.find((c) => c.id === gone)?.isSavepoint, 'savepoints are never deleted').toBe(false);
    }
    this.known = this.known.filter((c) => !discard.includes(c.id));
    if (discard.length > 0) this.#saw('discard');
  }

  #saw(what: string): void {
    this.seen.set(what, (this.seen.get(what) ?? 0) + 1);
  }

  #fail(pick: number, reason: CheckpointFailureReason): void {
    const failed = this.pending[pick % Math.max(1, this.pending.length)];
    if (failed === undefined) return;
    this.pending = this.pending.filter((p) => p !== failed);
    this.#onFailure(failed, reason);
  }

  #expire(): void {
    for (const expired of expiredCheckpoints(this.config, this.pending, this.now)) {
      const failed = this.pending.find((p) => p.id === expired);
      this.pending = this.pending.filter((p) => p.id !== expired);
      if (failed !== undefined) this.#onFailure(failed, 'expired');
    }
  }

  #onFailure(failed: PendingCheckpoint, reason: CheckpointFailureReason): void {
    const outcome = onCheckpointFailure(this.config, this.counter, { checkpointId: failed.id, snapshot: failed.kind, reason });
    this.counter = outcome.counter;
    this.#saw(`failure:${outcome.effect}`);
    // A failover aborts everything in flight.
    if (outcome.failJob) this.pending = [];
  }

  checkInvariants(): void {
    // (a) never more pending checkpoints than maxConcurrent (forced savepoints come on top)
    const checkpoints = this.pending.filter((p) => p.kind === 'checkpoint').length;
    expect(checkpoints).toBeLessThanOrEqual(this.config.maxConcurrent);
    if (this.config.unalignedEnabled) expect(this.pending.length).toBeLessThanOrEqual(this.config.maxConcurrent);

    // (c) the retained checkpoints are the numRetained newest completed ones
    const newest = [...this.completedCheckpoints].sort((a, b) => a - b).slice(-this.config.numRetained);
    const retained = this.known.filter((c) => !c.isSavepoint).map((c) => c.id).sort((a, b) => a - b);
    expect(retained).toEqual(newest);
    expect(this.known.filter((c) => c.isSavepoint).length, 'every savepoint is still there').toBe(this.completedSavepoints);
  }
}

describe('coordinator decisions over random histories', () => {
  it('keep max concurrency, the minimum pause, the retained set and increasing ids', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(arbConfig, fc.array(arbCommand, { minLength: 50, maxLength: 200 }), (config, commands) => {
        const model = new Model(config);
        for (const command of commands) {
          model.step(command);
          model.checkInvariants();
        }
        for (const [what, n] of model.seen) seen.set(what, (seen.get(what) ?? 0) + n);
      }),
      { numRuns: 300 },
    );
    // Without these the properties above could hold vacuously.
    for (const what of [
      'trigger:periodic',
      'trigger:manual-checkpoint',
      'trigger:savepoint',
      'trigger:stop-with-savepoint',
      'wait:max-concurrent',
      'wait:min-pause',
      'skip:periodic',
      'subsumed',
      'discard',
      'failure:counted',
      'failure:ignored',
      'failure:threshold-exceeded',
      'failure:stop-with-savepoint-failed',
    ]) {
      expect(seen.get(what) ?? 0, what).toBeGreaterThan(20);
    }
  });
});
