/**
 * Flink's Trigger: decides when a window's function runs (FIRE) and when its contents are thrown
 * away (PURGE). The window operator asks it on every element, on every timer it set, and when
 * windows merge; a trigger keeps per-window state only through `ctx.getPartitionedState` (kept
 * in keyed state under the window, so it is checkpointed and rescaled with the window).
 *
 * A custom trigger extends this class, as in Flink:
 *
 *   class EveryThird extends Trigger<Click, TimeWindow> {
 *     onElement(_e, _ts, _w, ctx) { ... return TriggerResult.CONTINUE; }
 *     ...
 *   }
 */
import type { ListState, ReducingState, ValueState, AggregatingState } from '../state/keyed-state-handles.ts';
import type { AggregatingStateDescriptor, ListStateDescriptor, ReducingStateDescriptor, ValueStateDescriptor } from '../state/state-descriptors.ts';
import type { Window } from './window.ts';

export type TriggerResult = 'CONTINUE' | 'FIRE' | 'PURGE' | 'FIRE_AND_PURGE';

export const TriggerResult = {
  /** Nothing happens to the window. */
  CONTINUE: 'CONTINUE',
  /** The window function runs on the contents; they are kept. */
  FIRE: 'FIRE',
  /** The contents are cleared without running the function (the window itself lives on). */
  PURGE: 'PURGE',
  /** The function runs, then the contents are cleared. */
  FIRE_AND_PURGE: 'FIRE_AND_PURGE',
} as const satisfies Record<string, TriggerResult>;

export function isFire(result: TriggerResult): boolean {
  return result === 'FIRE' || result === 'FIRE_AND_PURGE';
}

export function isPurge(result: TriggerResult): boolean {
  return result === 'PURGE' || result === 'FIRE_AND_PURGE';
}

/** The state kinds a trigger may keep per window (all of them can be merged but value state). */
export type TriggerStateDescriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>;

/** What a trigger may do for the window and key it is called for (Flink's Trigger.TriggerContext). */
export interface TriggerContext {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
  /** A timer of this window: the trigger's onEventTime runs when the watermark reaches `time`. */
  registerEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  /** State of this key and window. */
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getPartitionedState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getPartitionedState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getPartitionedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
}

/** During onMerge: the state of the windows being merged can be merged into the new window's. */
export interface OnMergeContext extends TriggerContext {
  mergePartitionedState(descriptor: ReducingStateDescriptor<unknown> | AggregatingStateDescriptor<unknown, unknown, unknown> | ListStateDescriptor<unknown>): void;
}

export abstract class Trigger<T, W extends Window> {
  /** Called for every element added to `window`. */
  abstract onElement(element: T, timestamp: number | null, window: W, ctx: TriggerContext): TriggerResult;
  /** Called when an event-time timer this trigger set for `window` fires. */
  abstract onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  /** Called when a processing-time timer this trigger set for `window` fires. */
  abstract onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  /** Called when the window is removed: delete its timers and clear its state here. */
  abstract clear(window: W, ctx: TriggerContext): void;

  /** Whether the trigger can be used with merging windows (session windows); onMerge then. */
  canMerge(): boolean {
    return false;
  }

  /** Windows merged into `window`: merge their state and set the timers `window` needs. */
  onMerge(window: W, ctx: OnMergeContext): void {
    void window;
    void ctx;
    throw new Error(`${this.toString()} does not support merging windows`);
  }

  toString(): string {
    return this.constructor.name;
  }
}
