/**
 * State per window: a trigger's (Flink's TriggerContext.getPartitionedState) and a process
 * window function's (Context.windowState()). Each descriptor is
 * one keyed map state under the descriptor's name, from window (window.ts, windowKey) to the
 * value, so it is checkpointed, restored and rescaled with the key; the handles given to the
 * trigger read and write the entry of one window. Merging windows merge their entries
 * (mergePartitionedState) as Flink merges namespaces.
 */
import { UserError } from '../../errors.ts';
import type { OnMergeContext, TriggerContext, TriggerStateDescriptor } from '../api/trigger.ts';
import { GlobalWindow, type Window, type WindowKey, windowKey } from '../api/window.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/keyed-state-handles.ts';
import { type AggregateFunction, type AggregatingStateDescriptor, type ListStateDescriptor, type ReducingStateDescriptor, mapState } from '../state/state-descriptors.ts';
import type { WindowTimers } from './window-timers.ts';

/** What the keyed state name of a per-window state starts with. */
export const WINDOW_STATE_PREFIX = 'window/';

type Handle = ValueState<unknown> | ListState<unknown> | ReducingState<unknown> | AggregatingState<unknown, unknown>;

export class WindowTriggerState {
  readonly #maps = new Map<string, MapState<unknown, unknown>>();

  constructor(private readonly backend: KeyedStateBackend) {}

  #map(descriptor: TriggerStateDescriptor): MapState<unknown, unknown> {
    let map = this.#maps.get(descriptor.name);
    if (map === undefined) {
      if (!['value', 'list', 'reducing', 'aggregating'].includes(descriptor.kind)) throw new UserError(`window state '${descriptor.name}': state per window may be value, list, reducing or aggregating state, not ${descriptor.kind}`);
      map = this.backend.getState(mapState<unknown, unknown>(`${WINDOW_STATE_PREFIX}${descriptor.name}`));
      this.#maps.set(descriptor.name, map);
    }
    return map;
  }

  /** The state of `descriptor` in `window` (current key). */
  handle(descriptor: TriggerStateDescriptor, window: Window): Handle {
    const map = this.#map(descriptor);
    const key = windowKey(window);
    switch (descriptor.kind) {
      case 'value':
        return new WindowValueState(map, key);
      case 'reducing':
        return new WindowReducingState(map, key, descriptor.reduce);
      case 'aggregating':
        return new WindowAggregatingState(map, key, descriptor.aggregate);
      case 'list':
        return new WindowListState(map, key);
    }
  }

  /** Merges the state of `merged` windows into `target`'s and clears theirs (Flink's mergeNamespaces). */
  merge(descriptor: TriggerStateDescriptor, target: Window, merged: readonly Window[]): void {
    const map = this.#map(descriptor);
    const targetKey = windowKey(target);
    let value = map.get(targetKey);
    for (const window of merged) {
      const key = windowKey(window);
      const other = map.get(key);
      if (other === undefined) continue;
      map.remove(key);
      value = value === undefined ? other : mergeValues(descriptor, value, other);
    }
    if (value !== undefined) map.put(targetKey, value);
  }
}

function mergeValues(descriptor: TriggerStateDescriptor, a: unknown, b: unknown): unknown {
  switch (descriptor.kind) {
    case 'reducing':
      return descriptor.reduce(a, b);
    case 'aggregating':
      if (descriptor.aggregate.merge === undefined) throw new UserError(`trigger state '${descriptor.name}': merging windows merge its accumulators; give its AggregateFunction a merge(a, b)`);
      return descriptor.aggregate.merge(a, b);
    case 'list':
      return [...(a as unknown[]), ...(b as unknown[])];
    case 'value':
      throw new UserError(`trigger state '${descriptor.name}': value state cannot be merged when windows merge; use reducing, aggregating or list state`);
  }
}

/** Classes, not closures: a trigger asks for its state on every element. */
class WindowEntry {
  constructor(
    protected readonly map: MapState<unknown, unknown>,
    protected readonly key: WindowKey,
  ) {}
  protected read(): unknown {
    return this.map.get(this.key);
  }
  protected write(value: unknown): void {
    if (value === undefined) this.map.remove(this.key);
    else this.map.put(this.key, value);
  }
  clear(): void {
    this.map.remove(this.key);
  }
}

class WindowValueState extends WindowEntry implements ValueState<unknown> {
  value(): unknown {
    return this.read();
  }
  update(value: unknown): void {
    this.write(value);
  }
}

class WindowReducingState extends WindowEntry implements ReducingState<unknown> {
  constructor(map: MapState<unknown, unknown>, key: WindowKey, private readonly reduce: (a: unknown, b: unknown) => unknown) {
    super(map, key);
  }
  get(): unknown {
    return this.read();
  }
  add(value: unknown): void {
    const current = this.read();
    this.write(current === undefined ? value : this.reduce(current, value));
  }
}

class WindowAggregatingState extends WindowEntry implements AggregatingState<unknown, unknown> {
  constructor(map: MapState<unknown, unknown>, key: WindowKey, private readonly aggregate: AggregateFunction<unknown, unknown, unknown>) {
    super(map, key);
  }
  get(): unknown {
    const acc = this.read();
    return acc === undefined ? undefined : this.aggregate.getResult(acc);
  }
  add(value: unknown): void {
    this.write(this.aggregate.add(value, this.read() ?? this.aggregate.createAccumulator()));
  }
}

class WindowListState extends WindowEntry implements ListState<unknown> {
  get(): Iterable<unknown> {
    return (this.read() as unknown[] | undefined) ?? [];
  }
  add(value: unknown): void {
    this.write([...(this.get() as unknown[]), value]);
  }
  addAll(values: Iterable<unknown>): void {
    this.write([...(this.get() as unknown[]), ...values]);
  }
  update(values: Iterable<unknown>): void {
    const list = [...values];
    this.write(list.length === 0 ? undefined : list);
  }
}

/**
 * The trigger context of one window operator, pointed at a window before each call (Flink's
 * WindowOperator.Context): timers and state of that window of the current key.
 */
export class WindowTriggerContext implements OnMergeContext {
  window: Window = GlobalWindow.get();
  /** During onMerge: the windows merged into `window`. */
  merged: readonly Window[] = [];

  constructor(
    private readonly timers: WindowTimers,
    private readonly state: WindowTriggerState,
  ) {}

  getCurrentProcessingTime(): number {
    return this.timers.service.currentProcessingTime();
  }
  getCurrentWatermark(): number {
    return this.timers.service.currentWatermark();
  }
  registerEventTimeTimer(time: number): void {
    this.timers.registerEventTimeTimer(this.window, time);
  }
  registerProcessingTimeTimer(time: number): void {
    this.timers.registerProcessingTimeTimer(this.window, time);
  }
  deleteEventTimeTimer(time: number): void {
    this.timers.deleteEventTimeTimer(this.window, time);
  }
  deleteProcessingTimeTimer(time: number): void {
    this.timers.deleteProcessingTimeTimer(this.window, time);
  }
  readonly getPartitionedState = ((descriptor: TriggerStateDescriptor) => this.state.handle(descriptor, this.window)) as TriggerContext['getPartitionedState'];
  mergePartitionedState(descriptor: ReducingStateDescriptor<unknown> | AggregatingStateDescriptor<unknown, unknown, unknown> | ListStateDescriptor<unknown>): void {
    this.state.merge(descriptor, this.window, this.merged);
  }
}
