/**
 * The logical job the DataStream API builds: nodes (sources and operators, each with its uid and
 * parallelism) and the edges between them with their partitioning. The executor compiles it into
 * chains and subtasks.
 */
import type { StreamOperator } from '../runtime/stream-operator.ts';
import type { Source } from './source.ts';

export type Partitioning =
  | { readonly kind: 'forward' }
  | { readonly kind: 'rebalance' }
  | { readonly kind: 'broadcast' }
  /** By key group of the key: how keyBy sends each key to the subtask that owns its state. */
  | { readonly kind: 'hash'; readonly key: (value: unknown) => unknown };

export interface InputEdge {
  readonly from: StreamNode;
  readonly partitioning: Partitioning;
}

export interface StreamNode {
  readonly id: number;
  readonly kind: 'source' | 'operator';
  /** Stable name that state is filed under; generated from the position when not set. */
  uid: string | undefined;
  name: string;
  /** Made by `sinkTo` (Flink shows it as `Sink: <name>`). */
  isSink?: boolean;
  /** windowAll: parallelism and max parallelism are 1 and cannot be set otherwise (Flink's forceNonParallel). */
  nonParallel?: boolean;
  parallelism: number | undefined;
  maxParallelism: number | undefined;
  readonly inputs: InputEdge[];
  readonly source?: Source<unknown>;
  readonly createOperator?: () => StreamOperator;
  /** For keyed operators: the key of a record, set as the current key before it is processed. */
  readonly keyOf?: (value: unknown, input: number) => unknown;
}

export class StreamGraph {
  readonly nodes: StreamNode[] = [];

  add(node: Omit<StreamNode, 'id' | 'uid' | 'parallelism' | 'maxParallelism'> & Partial<Pick<StreamNode, 'parallelism' | 'maxParallelism'>>): StreamNode {
    const full: StreamNode = { uid: undefined, parallelism: undefined, maxParallelism: undefined, ...node, id: this.nodes.length };
    this.nodes.push(full);
    return full;
  }
}
