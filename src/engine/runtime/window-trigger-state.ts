/**
 * A trigger's per-window state (Flink's TriggerContext.getPartitionedState): each descriptor is
 * one keyed map state under the descriptor's name, from window (window.ts, windowKey) to the
 * value, so it is checkpointed, restored and rescaled with the key; the handles given to the
 * trigger read and write the entry of one window. Merging windows merge their entries
 * (mergePartitionedState) as Flink merges namespaces.
 */
import { UserError } from '../../errors.ts';
import type { TriggerStateDescriptor } from '../api/trigger.ts';
import { type Window, windowKey } from '../api/window.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/keyed-state-handles.ts';
import { mapState } from '../state/state-descriptors.ts';

type Handle = ValueState<unknown> | ListState<unknown> | ReducingState<unknown> | AggregatingState<unknown, unknown>;

export class WindowTriggerState {
  readonly #maps = new Map<string, MapState<unknown, unknown>>();

  constructor(
    private readonly backend: KeyedStateBackend,
    /** States of the window operator itself, which a trigger's state may not be named as. */
    private readonly reserved: readonly string[],
  ) {}

  #map(descriptor: TriggerStateDescriptor): MapState<unknown, unknown> {
    let map = this.#maps.get(descriptor.name);
    if (map === undefined) {
      if (this.reserved.includes(descriptor.name)) throw new UserError(`trigger state '${descriptor.name}': the window operator keeps its own state under that name; give the descriptor another name`);
      if (!['value', 'list', 'reducing', 'aggregating'].includes(descriptor.kind)) throw new UserError(`trigger state '${descriptor.name}': a trigger may keep value, list, reducing or aggregating state, not ${descriptor.kind}`);
      map = this.backend.getState(mapState<unknown, unknown>(descriptor.name));
      this.#maps.set(descriptor.name, map);
    }
    return map;
  }

  /** The state of `descriptor` in `window` (current key). */
  handle(descriptor: TriggerStateDescriptor, window: Window): Handle {
    const map = this.#map(descriptor);
    const key = windowKey(window);
    const put = (value: unknown): void => (value === undefined ? map.remove(key) : map.put(key, value));
    const clear = (): void => map.remove(key);
    switch (descriptor.kind) {
      case 'value':
        return { value: () => map.get(key), update: put, clear };
      case 'reducing':
        return {
          get: () => map.get(key),
          add: (value: unknown) => {
            const current = map.get(key);
            put(current === undefined ? value : descriptor.reduce(current, value));
          },
          clear,
        };
      case 'aggregating': {
        const aggregate = descriptor.aggregate;
        return {
          get: () => {
            const acc = map.get(key);
            return acc === undefined ? undefined : aggregate.getResult(acc);
          },
          add: (value: unknown) => put(aggregate.add(value, map.get(key) ?? aggregate.createAccumulator())),
          clear,
        };
      }
      case 'list':
        return {
          get: () => (map.get(key) as unknown[] | undefined) ?? [],
          add: (value: unknown) => put([...((map.get(key) as unknown[] | undefined) ?? []), value]),
          addAll: (values: Iterable<unknown>) => put([...((map.get(key) as unknown[] | undefined) ?? []), ...values]),
          update: (values: Iterable<unknown>) => {
            const list = [...values];
            put(list.length === 0 ? undefined : list);
          },
          clear,
        };
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
