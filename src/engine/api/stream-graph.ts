/**
 * The logical job the DataStream API builds: nodes (sources and operators, each with its uid and
 * parallelism) and the edges between them with their partitioning. The executor compiles it into
 * chains and subtasks.
 */
import type { StreamOperator } from '../runtime/stream-operator.ts';
import type { Source } from './source.ts';

export type Partitioning =
  /**
   * Subtask i to subtask i. Without `explicit` (no partitioner asked for), an edge between
   * different parallelisms becomes rebalance, as in Flink; `forward()` sets it and then needs
   * equal parallelism.
   */
  | { readonly kind: 'forward'; readonly explicit?: boolean }
  | { readonly kind: 'rebalance' }
  /** Round robin over the few downstream subtasks this subtask is paired with (Flink's POINTWISE edge). */
  | { readonly kind: 'rescale' }
  /** A random downstream subtask per record. */
  | { readonly kind: 'shuffle' }
  /** Every record to downstream subtask 0. */
  | { readonly kind: 'global' }
  | { readonly kind: 'broadcast' }
  /** By key group of the key: how keyBy sends each key to the subtask that owns its state. */
  | { readonly kind: 'hash'; readonly key: (value: unknown) => unknown };

/**
 * What `keyOf` returns for a record that belongs to no key (the broadcast input of a keyed
 * broadcast operator): the subtask then clears the current key instead of setting one.
 */
export const NO_CURRENT_KEY: unique symbol = Symbol('no current key');
export const NO_CURRENT_KEY_REASON =
  'keyed state was accessed while processing a broadcast element, which belongs to no key: reach keyed state there through ctx.applyToKeyedState(descriptor, fn)';

export interface InputEdge {
  readonly from: StreamNode;
  readonly partitioning: Partitioning;
}

export interface StreamNode {
  readonly id: number;
  /**
   * 'side-output': a virtual node (Flink's SideOutputTransformation) standing for the records of
   * one OutputTag of its single input; planJob replaces edges from it by edges from that input
   * carrying the tag, so it never runs or appears in a plan.
   */
  readonly kind: 'source' | 'operator' | 'side-output';
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
  /** For keyed operators: the key of a record, set as the current key before it is processed (NO_CURRENT_KEY: none). */
  readonly keyOf?: (value: unknown, input: number) => unknown;
  /** For a 'side-output' node: the id of the OutputTag whose records it stands for. */
  readonly sideOutputTag?: string;
}

export class StreamGraph {
  readonly nodes: StreamNode[] = [];

  add(node: Omit<StreamNode, 'id' | 'uid' | 'parallelism' | 'maxParallelism'> & Partial<Pick<StreamNode, 'parallelism' | 'maxParallelism'>>): StreamNode {
    const full: StreamNode = { uid: undefined, parallelism: undefined, maxParallelism: undefined, ...node, id: this.nodes.length };
    this.nodes.push(full);
    return full;
  }
}
