/**
 * What a rich function sees of its subtask: who it is, and its state. Keyed state is scoped to
 * the key of the record being processed; operator state belongs to the subtask.
 */
import { UserError } from '../../errors.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/keyed-state-handles.ts';
import type { OperatorStateStore } from '../state/operator-state-store.ts';
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

export function createRuntimeContext(info: ContextInfo, keyed: KeyedStateBackend | undefined, operatorState: OperatorStateStore): RuntimeContext {
  const backend = (): KeyedStateBackend => {
    if (keyed === undefined) {
      throw new UserError(`operator '${info.operatorUid}': keyed state is only available after keyBy (on a KeyedStream)`);
    }
    return keyed;
  };
  return {
    ...info,
    operatorState,
    getState: (d) => backend().getState(d),
    getListState: (d) => backend().getState(d),
    getMapState: (d) => backend().getState(d),
    getReducingState: (d) => backend().getState(d),
    getAggregatingState: (d) => backend().getState(d),
    getCurrentKey: () => backend().getCurrentKey(),
  };
}
