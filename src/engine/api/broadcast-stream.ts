/**
 * The broadcast state pattern's streams, as Flink's BroadcastStream and BroadcastConnectedStream:
 * `stream.broadcast(...descriptors)` sends every record to every subtask of the operator it is
 * connected to and names the broadcast states that operator keeps; `data.connect(broadcastStream)`
 * (data keyed or not) then `process(fn)` builds it.
 */
import type { MapStateDescriptor } from '../state/state-descriptors.ts';
import { BroadcastProcessOperator } from './broadcast-process-operator.ts';
import type { BroadcastProcessFunction, KeyedBroadcastProcessFunction } from './broadcast-process-function.ts';
import { type DataStream, SingleOutputStreamOperator } from './data-stream.ts';
import { perSubtask } from './functions.ts';
import { NO_CURRENT_KEY, type Partitioning, type StreamGraph, type StreamNode } from './stream-graph.ts';
import { UserError } from '../../errors.ts';

export class BroadcastStream<T> {
  constructor(
    readonly graph: StreamGraph,
    readonly node: StreamNode,
    readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {}
}

type AnyFunction = KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown> | BroadcastProcessFunction<unknown, unknown, unknown>;

export class BroadcastConnectedStream<IN1, IN2> {
  constructor(
    private readonly graph: StreamGraph,
    private readonly data: DataStream<IN1>,
    private readonly broadcast: BroadcastStream<IN2>,
    /** The data stream's key selector when it is a KeyedStream. */
    private readonly key: ((value: IN1) => unknown) | undefined,
  ) {}

  /**
   * On a keyed stream: a KeyedBroadcastProcessFunction (keyed state, timers, applyToKeyedState);
   * on a non-keyed one: a BroadcastProcessFunction. An object is copied per subtask; a factory is
   * called once per subtask.
   */
  process<K, R>(fn: KeyedBroadcastProcessFunction<K, IN1, IN2, R> | (() => KeyedBroadcastProcessFunction<K, IN1, IN2, R>)): SingleOutputStreamOperator<R>;
  process<R>(fn: BroadcastProcessFunction<IN1, IN2, R> | (() => BroadcastProcessFunction<IN1, IN2, R>)): SingleOutputStreamOperator<R>;
  process<R>(fn: AnyFunction | (() => AnyFunction)): SingleOutputStreamOperator<R> {
    const create = perSubtask(fn) as () => AnyFunction;
    const key = this.key as ((value: unknown) => unknown) | undefined;
    const refuseTimers = (f: AnyFunction): void => {
      if (key === undefined && 'onTimer' in f && f.onTimer !== undefined) {
        throw new UserError('a KeyedBroadcastProcessFunction (it has onTimer) needs a keyed stream: keyBy(...).connect(broadcastStream)');
      }
    };
    if (typeof fn !== 'function') refuseTimers(fn);
    const descriptors = this.broadcast.descriptors;
    const dataPartitioning: Partitioning = key === undefined ? { kind: 'rebalance' } : { kind: 'hash', key };
    const node = this.graph.add({
      kind: 'operator',
      // Flink's names for the two operators.
      name: key === undefined ? 'Co-Process-Broadcast' : 'Co-Process-Broadcast-Keyed',
      inputs: [
        { from: this.data.node, partitioning: dataPartitioning },
        { from: this.broadcast.node, partitioning: { kind: 'broadcast' } },
      ],
      createOperator: () => {
        const f = create();
        refuseTimers(f);
        return new BroadcastProcessOperator(f, descriptors);
      },
      // The broadcast side's records belong to no key: the subtask clears the current key for them.
      ...(key === undefined ? {} : { keyOf: (value: unknown, input: number) => (input === 0 ? key(value) : NO_CURRENT_KEY) }),
    });
    return new SingleOutputStreamOperator<R>(this.graph, node);
  }
}
