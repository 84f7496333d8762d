/**
 * What a rich function sees of its subtask: who it is, and its state. Keyed state is scoped to
 * the key of the record being processed; operator state belongs to the subtask.
 */
import { UserError } from '../../errors.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/keyed-state-handles.ts';
import type { OperatorStateStore } from '../state/operator-state-store.ts';
import { TtlStates } from '../state/ttl/ttl-states.ts';
import { SYSTEM_CLOCK } from '../runtime/clock.ts';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../state/state-descriptors.ts';

export interface RuntimeContext extends ContextInfo {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  /** The current key, in keyed functions. */
  getCurrentKey(): unknown;
  readonly operatorState: OperatorStateStore;
}

/** Who a function is: its job, operator and subtask. */
export interface ContextInfo {
  readonly jobId: string;
  readonly operatorUid: string;
  readonly taskName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** 0 for the first run, then one more per restart. */
  readonly attemptNumber: number;
  /** Whether the job takes checkpoints (sinks then commit their last transaction on the final one). */
  readonly checkpointingEnabled: boolean;
}

/**
 * The one place user functions get keyed state handles: through the TTL layer (`ttl`, one per
 * keyed backend), which hands out the backend's own handle for a state without TTL and a TTL
 * wrapper over it for one with (state/ttl/ttl-states.ts).
 */
export function createRuntimeContext(
  info: ContextInfo,
  keyed: KeyedStateBackend | undefined,
  operatorState: OperatorStateStore,
  ttl: TtlStates | undefined = keyed === undefined ? undefined : new TtlStates(keyed, SYSTEM_CLOCK),
): RuntimeContext {
  const states = (): TtlStates => {
    if (keyed === undefined || ttl === undefined) {
      throw new UserError(`operator '${info.operatorUid}': keyed state is only available after keyBy (on a KeyedStream)`);
    }
    return ttl;
  };
  return {
    ...info,
    operatorState,
    getState: (d) => states().getState(d) as ValueState<never>,
    getListState: (d) => states().getState(d) as ListState<never>,
    getMapState: (d) => states().getState(d) as MapState<never, never>,
    getReducingState: (d) => states().getState(d) as ReducingState<never>,
    getAggregatingState: (d) => states().getState(d) as AggregatingState<never, never>,
    getCurrentKey: () => {
      if (keyed === undefined) throw new UserError(`operator '${info.operatorUid}': keyed state is only available after keyBy (on a KeyedStream)`);
      return keyed.getCurrentKey();
    },
  };
}
