/** The public API of tsflink, for job files: `import { ... } from 'tsflink'`. */
export { StreamExecutionEnvironment } from './engine/api/environment.ts';
export type { ConnectedStreams, DataStream, KeyedStream, PartitionedStream, SingleOutputStreamOperator } from './engine/api/data-stream.ts';
export { OutputTag, type SideOutputContext } from './engine/api/output-tag.ts';
export type { ProcessContext, ProcessFunction } from './engine/api/process-function.ts';
export type { AggregationType, FieldOf } from './engine/api/rolling-aggregation.ts';
export type {
  AggregateFunction,
  CheckpointListener,
  CheckpointedFunction,
  Collector,
  FilterFunction,
  FlatMapFunction,
  KeySelector,
  MapFunction,
  ReduceFunction,
  RichFunction,
} from './engine/api/functions.ts';
export type { KeyedProcessContext, KeyedProcessFunction, OnTimerContext } from './engine/api/keyed-process.ts';
export type { CoProcessContext, CoProcessFunction, CoProcessOnTimerContext } from './engine/api/co-process.ts';
export type { BroadcastConnectedStream, BroadcastStream } from './engine/api/broadcast-stream.ts';
export type {
  BroadcastContext,
  BroadcastProcessFunction,
  BroadcastReadOnlyContext,
  KeyedBroadcastContext,
  KeyedBroadcastOnTimerContext,
  KeyedBroadcastProcessFunction,
  KeyedBroadcastReadOnlyContext,
  ReadOnlyBroadcastState,
} from './engine/api/broadcast-process-function.ts';
export type { RuntimeContext } from './engine/api/runtime-context.ts';
export type { PollResult, Source, SourceReader, SourceRecord } from './engine/api/source.ts';
export { DataGeneratorSource, type DataGeneratorOptions } from './engine/connectors/data-generator-source.ts';
export { TwoPhaseCommitSink } from './engine/connectors/two-phase-commit-sink.ts';
export type { SinkFunction } from './engine/runtime/operators.ts';
export type { JobClient, JobResult, JobStatus } from './engine/runtime/local-executor.ts';
export type { RestartStrategy } from './engine/runtime/restart-strategy.ts';
export type { CheckpointConfig } from './engine/checkpoint/checkpoint-config.ts';
export type { StateBackendType } from './engine/state/state-backend-type.ts';
export { aggregatingState, listState, mapState, reducingState, valueState } from './engine/state/state-descriptors.ts';
export type { AggregatingState, ListState, MapState, ReducingState, ValueState } from './engine/state/keyed-state-handles.ts';
export { StateTtlConfig, StateTtlConfigBuilder, type IncrementalCleanup, type TtlStateVisibility, type TtlUpdateType } from './engine/state/ttl/state-ttl-config.ts';
export { ManualClock, type ProcessingTimeClock } from './engine/runtime/clock.ts';
export type { BroadcastState, OperatorListState } from './engine/state/operator-state-store.ts';
export { FileSource } from './engine/connectors/file-source.ts';
export { FileSink } from './engine/connectors/file-sink.ts';
export { PostgresSink, type PostgresExactlyOnceOptions, type PostgresUpsertOptions } from './engine/connectors/postgres-sink.ts';
export { PrintSink } from './engine/connectors/print-sink.ts';
export { WatermarkStrategy, type TimestampAssigner, type WatermarkGenerator } from './engine/api/watermark-strategy.ts';
export { SlidingEventTimeWindows, TumblingEventTimeWindows, type MergingWindowAssigner, type WindowAssigner, type WindowAssignerContext } from './engine/api/window-assigners.ts';
export { GlobalWindow, type TimeWindow, type Window } from './engine/api/window.ts';
export { SlidingProcessingTimeWindows, TumblingProcessingTimeWindows } from './engine/api/processing-time-windows.ts';
export { EventTimeSessionWindows, ProcessingTimeSessionWindows, type SessionWindowTimeGapExtractor } from './engine/api/session-windows.ts';
export { GlobalWindows } from './engine/api/global-windows.ts';
export { Trigger, TriggerResult, type OnMergeContext, type TriggerContext } from './engine/api/trigger.ts';
export { ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, CountTrigger, EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, PurgingTrigger } from './engine/api/triggers.ts';
export { CountEvictor, TimeEvictor, type Evictor, type EvictorContext, type TimestampedValue } from './engine/api/evictors.ts';
export type { KeyedStateStore, ProcessAllWindowFunction, ProcessWindowContext, ProcessWindowFunction } from './engine/api/window-functions.ts';
export type { WindowedStream } from './engine/api/windowed-stream.ts';
export type { AllWindowedStream } from './engine/api/all-windowed-stream.ts';
export type { TimeDomain, TimerService } from './engine/api/timer-service.ts';
// State schema evolution (a descriptor's `schemaVersion` and `migrate`) and sources.
export type { OperatorStateOptions } from './engine/state/operator-state-store.ts';
export { SocketTextSource, type SocketTextSourceOptions } from './engine/connectors/socket-text-source.ts';
export { AsyncDataStream } from './engine/api/async-data-stream.ts';
export { type AsyncFunction, type ResultFuture, TimeUnit, TimeoutException } from './engine/api/async-function.ts';
export { AsyncRetryStrategies, type AsyncRetryPredicate, type AsyncRetryStrategy, RetryPredicates } from './engine/api/async-retry.ts';
