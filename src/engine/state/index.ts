/** The public surface of the state package: backends, handles, snapshots, restore. */
export type { KeyGroupRange } from './current-key.ts';
export { createKeyedStateBackend, KEYED_STATE_BACKENDS, type KeyedStateBackendFactory } from './create-keyed-state-backend.ts';
export { HeapKeyedStateBackend, type HeapKeyedStateBackendOptions } from './heap-keyed-state-backend.ts';
export { HeapKeyedSnapshot } from './heap-keyed-snapshot.ts';
export type { CapturedKeyGroup, KeyedStateBackend, KeyedStateBackendOptions, KeyedStateSnapshot } from './keyed-state-backend.ts';
export { STATE_BACKEND_TYPES, type StateBackendType } from './state-backend-type.ts';
export { type KeyedBlock, type KeyedStateBlocks, writeKeyedSnapshot } from './write-keyed-snapshot.ts';
export type { AggregatingState, ListState, MapState, RawKeyedState, ReducingState, ValueState } from './keyed-state-handles.ts';
export {
  type BroadcastState,
  type OperatorListState,
  type OperatorStatePartition,
  type OperatorStateSnapshot,
  OperatorStateStore,
  writeOperatorSnapshot,
} from './operator-state-store.ts';
export { type PartitionSlice, repartitionOperatorStates } from './operator-state-repartition.ts';
export {
  type NewOperatorSpec,
  type OperatorRestorePlan,
  type PlannedKeyedState,
  type PlannedOperatorState,
  type RestorePlan,
  type RestorePlanInput,
  type SubtaskRestorePlan,
  planRestore,
} from './restore-plan.ts';
export { restoreKeyedState, restoreOperatorState } from './restore-state.ts';
export { type ResolvedTtl, StateTtlConfig, resolveTtl } from './ttl/state-ttl-config.ts';
export { type SnapshotTtlLayout, TtlStates, type TtlValue, isExpired, ttlValueForSnapshot } from './ttl/ttl-states.ts';
export {
  type AggregateFunction,
  type AggregatingStateDescriptor,
  type ListStateDescriptor,
  type MapStateDescriptor,
  type RawStateDescriptor,
  type ReduceFunction,
  type ReducingStateDescriptor,
  type RegisteredStateInfo,
  type StateDescriptor,
  type ValueStateDescriptor,
  aggregatingState,
  listState,
  mapState,
  reducingState,
  timersState,
  valueState,
} from './state-descriptors.ts';
