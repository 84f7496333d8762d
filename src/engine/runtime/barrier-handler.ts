/**
 * What an input gate does when a checkpoint barrier, a barrier's cancellation or the end of a
 * channel arrives (Flink's SingleCheckpointBarrierHandler for aligned exactly-once,
 * CheckpointBarrierTracker for at-least-once). Pure state machines: they say which channels to
 * block and when the operator must snapshot; the gate does the reading.
 */
import type { Barrier } from './stream-element.ts';

export type BarrierAction =
  /** All inputs delivered barrier n: snapshot now, then forward the barrier. */
  | { readonly kind: 'checkpoint'; readonly barrier: Barrier }
  /**
   * Checkpoint n will never align here: a newer barrier overtook it, or an input cancelled it (a
   * subtask upstream took no part in it). The subtask declines n and passes the cancellation on.
   */
  | { readonly kind: 'abort'; readonly checkpointId: number; readonly cause: 'overtaken' | 'cancelled' };

export interface BarrierHandler {
  onBarrier(channel: number, barrier: Barrier): BarrierAction[];
  /**
   * A cancel marker for n arrived on a channel instead of barrier n (Flink's
   * CancelCheckpointMarker): n will not complete here, and no later barrier of n is waited for.
   */
  onCancelBarrier(channel: number, checkpointId: number): BarrierAction[];
  /** A channel ended: it counts as having delivered every later barrier. */
  onEndOfInput(channel: number): BarrierAction[];
  /** Whether reading this channel must wait (exactly-once alignment). */
  isBlocked(channel: number): boolean;
}

export function createBarrierHandler(mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE', channels: number): BarrierHandler {
  return mode === 'EXACTLY_ONCE' ? new AligningBarrierHandler(channels) : new TrackingBarrierHandler(channels);
}

/**
 * Exactly-once: after barrier n on a channel, that channel is blocked until barrier n arrived on
 * every open channel, so the snapshot holds exactly the records before n on all inputs.
 */
export class AligningBarrierHandler implements BarrierHandler {
  readonly #blocked: boolean[];
  readonly #ended: boolean[];
  #current: Barrier | undefined;
  /** Highest checkpoint id seen; older barriers are late and ignored. */
  #latest = -1;

  constructor(channels: number) {
    this.#blocked = Array<boolean>(channels).fill(false);
    this.#ended = Array<boolean>(channels).fill(false);
  }

  onBarrier(channel: number, barrier: Barrier): BarrierAction[] {
    const actions: BarrierAction[] = [];
    if (barrier.checkpointId < this.#latest) return actions;
    if (barrier.checkpointId > this.#latest) {
      if (this.#current !== undefined) {
        actions.push({ kind: 'abort', checkpointId: this.#current.checkpointId, cause: 'overtaken' });
        this.#unblockAll();
      }
      this.#latest = barrier.checkpointId;
      this.#current = barrier;
    }
    if (this.#current === undefined) return actions; // n was already completed or aborted here
    this.#blocked[channel] = true;
    return [...actions, ...this.#completeIfAligned()];
  }

  /**
   * In band, so the channel has passed every older barrier: a cancelled n newer than the
   * alignment in progress ends that one too (as Flink's). Said once per checkpoint: the other
   * channels' markers (or late barriers) of n then find nothing to do.
   */
  onCancelBarrier(_channel: number, checkpointId: number): BarrierAction[] {
    if (checkpointId < this.#latest) return [];
    const actions: BarrierAction[] = [];
    if (checkpointId > this.#latest) {
      if (this.#current !== undefined) actions.push({ kind: 'abort', checkpointId: this.#current.checkpointId, cause: 'overtaken' });
      this.#latest = checkpointId;
    } else if (this.#current === undefined) {
      return actions; // n was already completed or aborted here
    }
    this.#current = undefined;
    this.#unblockAll();
    return [...actions, { kind: 'abort', checkpointId, cause: 'cancelled' }];
  }

  onEndOfInput(channel: number): BarrierAction[] {
    this.#ended[channel] = true;
    this.#blocked[channel] = false;
    return this.#current === undefined ? [] : this.#completeIfAligned();
  }

  isBlocked(channel: number): boolean {
    return this.#blocked[channel] === true;
  }

  #completeIfAligned(): BarrierAction[] {
    const aligned = this.#blocked.every((blocked, i) => blocked || this.#ended[i]);
    if (!aligned || this.#current === undefined) return [];
    const barrier = this.#current;
    this.#current = undefined;
    this.#unblockAll();
    return [{ kind: 'checkpoint', barrier }];
  }

  #unblockAll(): void {
    this.#blocked.fill(false);
  }
}

/**
 * At-least-once: nothing is blocked; the snapshot is taken when the last barrier of n arrives,
 * so records after n on early channels may be in it too (and are replayed after a restore).
 */
export class TrackingBarrierHandler implements BarrierHandler {
  readonly #ended: boolean[];
  /**
   * Checkpoint id -> channels that delivered its barrier (or its cancellation), oldest first. A
   * cancelled one stays until every channel has passed it, so that its late barriers are not
   * taken for a new checkpoint; it never completes.
   */
  readonly #pending = new Map<number, { barrier: Barrier; seen: Set<number>; cancelled: boolean }>();
  #latestCompleted = -1;

  constructor(channels: number) {
    this.#ended = Array<boolean>(channels).fill(false);
  }

  onBarrier(channel: number, barrier: Barrier): BarrierAction[] {
    if (barrier.checkpointId <= this.#latestCompleted) return [];
    const entry = this.#pending.get(barrier.checkpointId) ?? { barrier, seen: new Set<number>(), cancelled: false };
    entry.seen.add(channel);
    this.#pending.set(barrier.checkpointId, entry);
    return this.#completeReady();
  }

  /** Older checkpoints may still complete on the other channels: only n is given up (Flink's tracker gives up the older ones too). */
  onCancelBarrier(channel: number, checkpointId: number): BarrierAction[] {
    if (checkpointId <= this.#latestCompleted) return [];
    const entry = this.#pending.get(checkpointId) ?? { barrier: { checkpointId, savepoint: false }, seen: new Set<number>(), cancelled: false };
    entry.seen.add(channel);
    this.#pending.set(checkpointId, entry);
    const actions: BarrierAction[] = [];
    if (!entry.cancelled) {
      entry.cancelled = true;
      actions.push({ kind: 'abort', checkpointId, cause: 'cancelled' });
    }
    return [...actions, ...this.#completeReady()];
  }

  onEndOfInput(channel: number): BarrierAction[] {
    this.#ended[channel] = true;
    return this.#completeReady();
  }

  isBlocked(_channel: number): boolean {
    return false;
  }

  #completeReady(): BarrierAction[] {
    const actions: BarrierAction[] = [];
    const ids = [...this.#pending.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const entry = this.#pending.get(id);
      if (entry === undefined) continue; // given up below, as older than one that completed
      const { barrier, seen, cancelled } = entry;
      if (!this.#ended.every((ended, i) => ended || seen.has(i))) continue;
      if (cancelled) {
        // Every channel has passed it: nothing of it is left to come.
        this.#pending.delete(id);
        continue;
      }
      // A newer checkpoint completed: the older, still incomplete ones never will.
      for (const older of ids) {
        if (older >= id) break;
        const given = this.#pending.get(older);
        if (given === undefined) continue;
        this.#pending.delete(older);
        if (!given.cancelled) actions.push({ kind: 'abort', checkpointId: older, cause: 'overtaken' });
      }
      this.#pending.delete(id);
      this.#latestCompleted = id;
      actions.push({ kind: 'checkpoint', barrier });
    }
    return actions;
  }
}
