/**
 * Flink's execution plan JSON (`flink info`, `env.getExecutionPlan()`): one node per operator of
 * the StreamGraph, before chaining, with its predecessors and how records reach it. Ids are the
 * graph's, from 1 as Flink numbers its stream nodes.
 */
import type { Partitioning } from '../api/stream-graph.ts';
import type { JobPlan } from '../runtime/job-plan.ts';
import type { ShipStrategy } from './jobmaster-protocol.ts';
import { operatorName } from '../runtime/vertex-names.ts';

export interface ExecutionPlan {
  readonly nodes: readonly {
    readonly id: number;
    readonly type: string;
    readonly pact: 'Data Source' | 'Data Sink' | 'Operator';
    readonly contents: string;
    readonly parallelism: number;
    readonly predecessors?: readonly { readonly id: number; readonly ship_strategy: string; readonly side: 'second' }[];
  }[];
}

export function executionPlan(plan: JobPlan): ExecutionPlan {
  return {
    nodes: plan.nodes.map(({ node, parallelism, inputs }) => {
      const name = operatorName(node);
      return {
        id: node.id + 1,
        type: name,
        pact: node.kind === 'source' ? 'Data Source' : node.isSink === true ? 'Data Sink' : 'Operator',
        contents: name,
        parallelism,
        ...(inputs.length === 0 ? {} : { predecessors: inputs.map((input) => ({ id: input.from.id + 1, ship_strategy: shipStrategy(input.partitioning), side: 'second' as const })) }),
      };
    }),
  };
}

/** Flink's partitioners' names (StreamPartitioner.toString). */
export function shipStrategy(partitioning: Partitioning): ShipStrategy {
  switch (partitioning.kind) {
    case 'forward':
      return 'FORWARD';
    case 'hash':
      return 'HASH';
    case 'rebalance':
      return 'REBALANCE';
    case 'rescale':
      return 'RESCALE';
    case 'shuffle':
      return 'SHUFFLE';
    case 'global':
      return 'GLOBAL';
    case 'broadcast':
      return 'BROADCAST';
  }
}
