/**
 * DataStream, KeyedStream and the operator settings every transformation takes (uid, name,
 * parallelism, max parallelism), as in Flink's DataStream API. Building a stream only adds
 * nodes to the StreamGraph; nothing runs until `env.execute()`.
 */
import { UserError } from '../../errors.ts';
import { FilterOperator, FlatMapOperator, KeyedReduceOperator, MapOperator, SinkOperator, type SinkFunction } from '../runtime/operators.ts';
import type { StreamOperator } from '../runtime/stream-operator.ts';
import { TimestampsAndWatermarksOperator } from '../runtime/timestamps-and-watermarks-operator.ts';
import { type Collector, type FilterFunction, type FlatMapFunction, type KeySelector, type MapFunction, type ReduceFunction, asFilter, asFlatMap, asMap, asReduce, perSubtask } from './functions.ts';
import { CoProcessOperator, type CoProcessFunction } from './co-process.ts';
import { BroadcastConnectedStream, BroadcastStream } from './broadcast-stream.ts';
import type { MapStateDescriptor } from '../state/state-descriptors.ts';
import { KeyedProcessOperator, type KeyedProcessFunction } from './keyed-process.ts';
import { PrintSink } from '../connectors/print-sink.ts';
import type { OutputTag } from './output-tag.ts';
import { ProcessOperator, type ProcessFunction } from './process-function.ts';
import { type FieldOf, rollingAggregation } from './rolling-aggregation.ts';
import type { Partitioning, StreamGraph, StreamNode } from './stream-graph.ts';
import type { WatermarkStrategy } from './watermark-strategy.ts';
import type { WindowAssigner } from './window-assigners.ts';
import { WindowedStream } from './windowed-stream.ts';
import { AllWindowedStream } from './all-windowed-stream.ts';
import { CountEvictor } from './evictors.ts';
import { GlobalWindows } from './global-windows.ts';
import { CountTrigger, PurgingTrigger } from './triggers.ts';
import type { GlobalWindow, TimeWindow, Window } from './window.ts';

export class DataStream<T> {
  constructor(
    protected readonly graph: StreamGraph,
    readonly node: StreamNode,
  ) {}

  map<R>(fn: MapFunction<T, R> | ((value: T) => R)): SingleOutputStreamOperator<R> {
    const f = asMap(fn) as () => MapFunction<unknown, unknown>;
    return this.transform<R>('Map', () => new MapOperator(f()));
  }

  filter(fn: FilterFunction<T> | ((value: T) => boolean)): SingleOutputStreamOperator<T> {
    const f = asFilter(fn) as () => FilterFunction<unknown>;
    return this.transform<T>('Filter', () => new FilterOperator(f()));
  }

  flatMap<R>(fn: FlatMapFunction<T, R> | ((value: T, out: Collector<R>) => void)): SingleOutputStreamOperator<R> {
    const f = asFlatMap(fn) as () => FlatMapFunction<unknown, unknown>;
    return this.transform<R>('Flat Map', () => new FlatMapOperator(f()));
  }

  /**
   * Event time from here on: sets each record's timestamp and emits watermarks (Flink's
   * assignTimestampsAndWatermarks). Chained to the operator before it when it can be.
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    const s = strategy as WatermarkStrategy<unknown>;
    return this.transform<T>('Timestamps/Watermarks', () => new TimestampsAndWatermarksOperator(s));
  }

  keyBy<K>(key: KeySelector<T, K>): KeyedStream<T, K> {
    return new KeyedStream<T, K>(this.graph, this.node, key);
  }

  /** One stream of the records of this and the other streams (same type). */
  union(...others: DataStream<T>[]): SingleOutputStreamOperator<T> {
    const streams = [this, ...others];
    const node = this.graph.add({
      kind: 'operator',
      name: 'Union',
      // Forward keeps each input's order per subtask; planJob makes it rebalance where parallelisms differ.
      inputs: streams.map((s) => ({ from: s.node, partitioning: s.partitioningOr({ kind: 'forward' }) })),
      parallelism: this.node.parallelism,
      createOperator: () => new MapOperator({ map: (v: unknown) => v }),
    });
    return new SingleOutputStreamOperator<T>(this.graph, node);
  }

  /**
   * Two streams into one operator with two inputs (then `keyBy` and `process`); with a
   * BroadcastStream, the broadcast state pattern (then `process` with a (Keyed)BroadcastProcessFunction).
   */
  connect<U>(other: BroadcastStream<U>): BroadcastConnectedStream<T, U>;
  connect<U>(other: DataStream<U>): ConnectedStreams<T, U>;
  connect<U>(other: DataStream<U> | BroadcastStream<U>): ConnectedStreams<T, U> | BroadcastConnectedStream<T, U> {
    if (other instanceof BroadcastStream) {
      const key = this instanceof KeyedStream ? (this.key as (value: T) => unknown) : undefined;
      return new BroadcastConnectedStream<T, U>(this.graph, this, other, key);
    }
    return new ConnectedStreams<T, U>(this.graph, this, other);
  }

  /**
   * Without descriptors: every record to every subtask of the next operator (Flink's broadcast
   * partitioner). With MapState descriptors: a BroadcastStream for the broadcast state pattern,
   * whose operator keeps those broadcast states (connect a keyed or non-keyed stream to it).
   */
  broadcast(): PartitionedStream<T>;
  broadcast(...descriptors: [MapStateDescriptor<unknown, unknown>, ...MapStateDescriptor<unknown, unknown>[]]): BroadcastStream<T>;
  broadcast(...descriptors: MapStateDescriptor<unknown, unknown>[]): PartitionedStream<T> | BroadcastStream<T> {
    if (descriptors.length === 0) return new PartitionedStream<T>(this.graph, this.node, { kind: 'broadcast' });
    const names = new Set<string>();
    for (const d of descriptors) {
      if (d.kind !== 'map') throw new UserError(`broadcast state '${d.name}' must be described by mapState(...), as Flink's MapStateDescriptor`);
      if (names.has(d.name)) throw new UserError(`broadcast state '${d.name}' is named twice in broadcast(...): give each state its own name`);
      names.add(d.name);
    }
    return new BroadcastStream<T>(this.graph, this.node, descriptors);
  }

  /** Spread records evenly over the next operator's subtasks. */
  rebalance(): PartitionedStream<T> {
    return new PartitionedStream<T>(this.graph, this.node, { kind: 'rebalance' });
  }

  /** Records to the next operator's subtasks round robin, each subtask over only its few paired ones (Flink's rescale: a pointwise edge). */
  rescale(): PartitionedStream<T> {
    return new PartitionedStream<T>(this.graph, this.node, { kind: 'rescale' });
  }

  /** Each record to a random subtask of the next operator. */
  shuffle(): PartitionedStream<T> {
    return new PartitionedStream<T>(this.graph, this.node, { kind: 'shuffle' });
  }

  /** Every record to the first subtask (index 0) of the next operator. */
  global(): PartitionedStream<T> {
    return new PartitionedStream<T>(this.graph, this.node, { kind: 'global' });
  }

  /** Subtask i to subtask i; the next operator must have the same parallelism (refused at execute otherwise, as Flink). */
  forward(): PartitionedStream<T> {
    return new PartitionedStream<T>(this.graph, this.node, { kind: 'forward', explicit: true });
  }

  /**
   * A ProcessFunction per record (Flink's DataStream.process on a non-keyed stream): timestamp,
   * current time and watermark, side outputs; timers need `keyBy(...).process(...)`.
   */
  process<R>(fn: ProcessFunction<T, R> | (() => ProcessFunction<T, R>)): SingleOutputStreamOperator<R> {
    const create = perSubtask(fn) as () => ProcessFunction<unknown, unknown>;
    return this.transform<R>('Process', () => new ProcessOperator(create()));
  }

  /**
   * Prints every record to stdout (Flink's print()): `N> value` with the 1-based subtask index when
   * the sink runs in parallel, the plain value at parallelism 1; `print('id')` prefixes `id> ` or
   * `id:N> `. Strings as they are, other values as JSON.
   */
  print(sinkIdentifier?: string): SingleOutputStreamOperator<never> {
    return this.sinkTo(() => new PrintSink<T>(sinkIdentifier === undefined ? {} : { identifier: sinkIdentifier })).name('Print to Std. Out');
  }

  /** As print(), to stderr. */
  printToErr(sinkIdentifier?: string): SingleOutputStreamOperator<never> {
    return this.sinkTo(() => new PrintSink<T>({ stderr: true, ...(sinkIdentifier === undefined ? {} : { identifier: sinkIdentifier }) })).name('Print to Std. Err');
  }

  /** The partitioning asked for with rebalance(), rescale() and the like, else `fallback` (for union and connect). */
  partitioningOr(fallback: Partitioning): Partitioning {
    return fallback;
  }

  /** A sink object (copied per subtask) or a factory called once per subtask. */
  sinkTo(sink: SinkFunction<T> | (() => SinkFunction<T>)): SingleOutputStreamOperator<never> {
    const create = perSubtask(sink) as () => SinkFunction<unknown>;
    const out = this.transform<never>('Sink', () => new SinkOperator(create()));
    out.node.isSink = true;
    return out;
  }

  /**
   * Windows over the whole stream, not per key (Flink's windowAll): one window operator of
   * parallelism 1 sees every record.
   */
  windowAll<W extends Window = TimeWindow>(assigner: WindowAssigner<W>): AllWindowedStream<T, W> {
    return new AllWindowedStream<T, W>(this.keyBy(() => 0).window(assigner) as WindowedStream<T, unknown, W>);
  }

  /** Windows of every `size` records of the whole stream, or of the last `size` every `slide` records. */
  countWindowAll(size: number, slide?: number): AllWindowedStream<T, GlobalWindow> {
    return new AllWindowedStream<T, GlobalWindow>(this.keyBy(() => 0).countWindow(size, slide) as WindowedStream<T, unknown, GlobalWindow>);
  }

  protected transform<R>(name: string, create: () => StreamOperator, partitioning: Partitioning = { kind: 'forward' }, keyOf?: (value: unknown) => unknown): SingleOutputStreamOperator<R> {
    const node = this.graph.add({
      kind: 'operator',
      name,
      inputs: [{ from: this.node, partitioning }],
      createOperator: create,
      ...(keyOf === undefined ? {} : { keyOf: (value: unknown) => keyOf(value) }),
    });
    return new SingleOutputStreamOperator<R>(this.graph, node);
  }
}

/** A stream whose next operator's input uses the given partitioning. */
export class PartitionedStream<T> extends DataStream<T> {
  constructor(graph: StreamGraph, node: StreamNode, private readonly partitioning: Partitioning) {
    super(graph, node);
  }
  protected override transform<R>(name: string, create: () => StreamOperator): SingleOutputStreamOperator<R> {
    return super.transform<R>(name, create, this.partitioning);
  }
  override partitioningOr(): Partitioning {
    return this.partitioning;
  }
}

export class SingleOutputStreamOperator<T> extends DataStream<T> {
  /** The stable name state is filed under in checkpoints and savepoints. Set it on every stateful operator. */
  uid(uid: string): this {
    this.node.uid = uid;
    return this;
  }
  name(name: string): this {
    this.node.name = name;
    return this;
  }
  setParallelism(parallelism: number): this {
    if (this.node.nonParallel === true && parallelism !== 1) throw new UserError(`The parallelism of non parallel operator must be 1 ('${this.node.name}' is windowAll/countWindowAll), not ${parallelism}`);
    this.node.parallelism = parallelism;
    return this;
  }
  setMaxParallelism(maxParallelism: number): this {
    if (this.node.nonParallel === true && maxParallelism !== 1) throw new UserError(`The maximum parallelism of non parallel operator must be 1 ('${this.node.name}' is windowAll/countWindowAll), not ${maxParallelism}`);
    this.node.maxParallelism = maxParallelism;
    return this;
  }

  /**
   * The records this operator's function emitted with `ctx.output(tag, ...)` (or a window's late
   * records, `sideOutputLateData(tag)`), as a stream of their own: map, key, sink it, at any
   * parallelism. Tags are matched by id.
   */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    const node = this.graph.add({ kind: 'side-output', name: `SideOutput(${tag.id})`, inputs: [{ from: this.node, partitioning: { kind: 'forward' } }], sideOutputTag: tag.id });
    return new DataStream<X>(this.graph, node);
  }

  /** Parallelism 1, also for max parallelism, and no other may be set (Flink's forceNonParallel). */
  forceNonParallel(): this {
    this.node.parallelism = 1;
    this.node.maxParallelism = 1;
    this.node.nonParallel = true;
    return this;
  }
}

export class KeyedStream<T, K> extends DataStream<T> {
  constructor(graph: StreamGraph, node: StreamNode, readonly key: KeySelector<T, K>) {
    super(graph, node);
  }

  override process<R>(fn: KeyedProcessFunction<K, T, R> | (() => KeyedProcessFunction<K, T, R>)): SingleOutputStreamOperator<R> {
    const create = perSubtask(fn) as () => KeyedProcessFunction<unknown, unknown, unknown>;
    return this.keyed<R>('Keyed Process', () => new KeyedProcessOperator(create()));
  }

  reduce(fn: ReduceFunction<T> | ((a: T, b: T) => T)): SingleOutputStreamOperator<T> {
    const f = asReduce(fn);
    return this.keyed<T>('Keyed Reduce', () => new KeyedReduceOperator((a, b) => f.reduce(a as T, b as T)));
  }

  /** Running sum of a numeric field per key; the other fields are the key's first record's (Flink's sum(field)). */
  sum(field: FieldOf<T>): SingleOutputStreamOperator<T> {
    return this.#aggregation('sum', field);
  }

  /** Running minimum of a field per key; the other fields are the key's first record's (Flink's min(field)). */
  min(field: FieldOf<T>): SingleOutputStreamOperator<T> {
    return this.#aggregation('min', field);
  }

  /** Running maximum of a field per key; the other fields are the key's first record's (Flink's max(field)). */
  max(field: FieldOf<T>): SingleOutputStreamOperator<T> {
    return this.#aggregation('max', field);
  }

  /** The record with the least value of the field so far, per key; on a tie the first such record, or the latest when `first` is false. */
  minBy(field: FieldOf<T>, first = true): SingleOutputStreamOperator<T> {
    return this.#aggregation('minBy', field, first);
  }

  /** The record with the greatest value of the field so far, per key; on a tie the first such record, or the latest when `first` is false. */
  maxBy(field: FieldOf<T>, first = true): SingleOutputStreamOperator<T> {
    return this.#aggregation('maxBy', field, first);
  }

  #aggregation(type: Parameters<typeof rollingAggregation>[0], field: FieldOf<T>, first = true): SingleOutputStreamOperator<T> {
    const f = rollingAggregation<T>(type, field, first);
    return this.keyed<T>('Keyed Aggregation', () => new KeyedReduceOperator((a, b) => f(a as T, b as T)));
  }

  /** Groups each key's records into windows (then aggregate, reduce or process them). */
  window<W extends Window = TimeWindow>(assigner: WindowAssigner<W>): WindowedStream<T, K, W> {
    return new WindowedStream<T, K, W>(assigner, (name, create) => this.keyed(name, create));
  }

  /**
   * Count windows (Flink's countWindow): every `size` records of a key, or, with `slide`, the
   * last `size` records of a key every `slide` records. GlobalWindows with
   * PurgingTrigger(CountTrigger(size)), or with CountEvictor(size) and CountTrigger(slide).
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    const windows = this.window(GlobalWindows.create());
    if (slide === undefined) return windows.trigger(PurgingTrigger.of(CountTrigger.of(size)));
    return windows.evictor(CountEvictor.of(size)).trigger(CountTrigger.of(slide));
  }

  override map<R>(fn: MapFunction<T, R> | ((value: T) => R)): SingleOutputStreamOperator<R> {
    const f = asMap(fn) as () => MapFunction<unknown, unknown>;
    return this.keyed<R>('Map', () => new MapOperator(f()));
  }

  override flatMap<R>(fn: FlatMapFunction<T, R> | ((value: T, out: Collector<R>) => void)): SingleOutputStreamOperator<R> {
    const f = asFlatMap(fn) as () => FlatMapFunction<unknown, unknown>;
    return this.keyed<R>('Flat Map', () => new FlatMapOperator(f()));
  }

  private keyed<R>(name: string, create: () => StreamOperator): SingleOutputStreamOperator<R> {
    const key = this.key as (value: unknown) => unknown;
    return this.transform<R>(name, create, { kind: 'hash', key }, key);
  }
}

export class ConnectedStreams<A, B> {
  constructor(
    private readonly graph: StreamGraph,
    private readonly first: DataStream<A>,
    private readonly second: DataStream<B>,
    private readonly keys?: readonly [KeySelector<A, unknown>, KeySelector<B, unknown>],
  ) {}

  /** Partitions both inputs by key, so equal keys of either input meet in one subtask. */
  keyBy<K>(key1: KeySelector<A, K>, key2: KeySelector<B, K>): ConnectedStreams<A, B> {
    return new ConnectedStreams<A, B>(this.graph, this.first, this.second, [key1, key2]);
  }

  process<R>(fn: CoProcessFunction<A, B, R> | (() => CoProcessFunction<A, B, R>)): SingleOutputStreamOperator<R> {
    const create = perSubtask(fn) as () => CoProcessFunction<unknown, unknown, unknown>;
    const keys = this.keys as readonly [(v: unknown) => unknown, (v: unknown) => unknown] | undefined;
    const inputs = [this.first, this.second] as const;
    const partitioning = (i: 0 | 1): Partitioning => (keys === undefined ? inputs[i].partitioningOr({ kind: 'rebalance' }) : { kind: 'hash', key: keys[i] });
    const node = this.graph.add({
      kind: 'operator',
      name: 'Co-Process',
      inputs: [
        { from: this.first.node, partitioning: partitioning(0) },
        { from: this.second.node, partitioning: partitioning(1) },
      ],
      createOperator: () => new CoProcessOperator(create()),
      ...(keys === undefined ? {} : { keyOf: (value: unknown, input: number) => keys[input === 0 ? 0 : 1](value) }),
    });
    return new SingleOutputStreamOperator<R>(this.graph, node);
  }
}
