/**
 * Compiles the StreamGraph into what runs: every node gets its uid, parallelism and max
 * parallelism, and nodes joined by forward edges at equal parallelism are chained into one task
 * (as Flink chains operators), so records between them are plain calls, not serialized batches.
 */
import { UserError } from '../../errors.ts';
import { checkParallelism, defaultMaxParallelism } from '../../format/key-groups.ts';
import type { Partitioning, StreamGraph, StreamNode } from '../api/stream-graph.ts';

export interface PlannedNode {
  readonly node: StreamNode;
  readonly uid: string;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** Whether the user set the max parallelism (else a restore may adopt the snapshot's). */
  readonly maxParallelismConfigured: boolean;
}

export interface ChainEdge {
  readonly from: number;
  readonly to: number;
  /** Which input of the downstream head this edge feeds (two-input operators). */
  readonly input: number;
  readonly partitioning: Partitioning;
}

export interface Chain {
  readonly id: number;
  readonly nodes: readonly PlannedNode[];
  readonly parallelism: number;
  readonly isSource: boolean;
}

export interface JobPlan {
  readonly chains: readonly Chain[];
  readonly edges: readonly ChainEdge[];
  readonly nodes: readonly PlannedNode[];
}

export function planJob(graph: StreamGraph, defaults: { parallelism: number; maxParallelism?: number }): JobPlan {
  const planned = new Map<number, PlannedNode>();
  const uids = new Set<string>();
  for (const node of graph.nodes) {
    const parallelism = node.parallelism ?? defaults.parallelism;
    const configured = node.maxParallelism ?? defaults.maxParallelism;
    const maxParallelism = configured ?? defaultMaxParallelism(parallelism);
    const uid = node.uid ?? `${node.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${node.id}`;
    try {
      checkParallelism(parallelism, maxParallelism);
    } catch (err) {
      throw new UserError(`operator '${uid}': ${err instanceof Error ? err.message : String(err)}`);
    }
    if (uids.has(uid)) throw new UserError(`two operators have the uid '${uid}': uids must be unique in a job`);
    uids.add(uid);
    planned.set(node.id, { node, uid, name: node.name, parallelism, maxParallelism, maxParallelismConfigured: configured !== undefined });
  }

  const consumers = new Map<number, number>();
  for (const node of graph.nodes) for (const input of node.inputs) consumers.set(input.from.id, (consumers.get(input.from.id) ?? 0) + 1);
  const chainedToPrevious = (node: StreamNode): boolean => {
    if (node.inputs.length !== 1) return false;
    const input = node.inputs[0]!;
    return (
      input.partitioning.kind === 'forward' &&
      consumers.get(input.from.id) === 1 &&
      planned.get(input.from.id)!.parallelism === planned.get(node.id)!.parallelism &&
      node.keyOf === undefined
    );
  };

  const chainOf = new Map<number, number>();
  const chains: { id: number; nodes: PlannedNode[]; parallelism: number; isSource: boolean }[] = [];
  for (const node of graph.nodes) {
    // Nodes are added in dependency order, so an input's chain exists already.
    if (chainedToPrevious(node)) {
      const chainId = chainOf.get(node.inputs[0]!.from.id)!;
      chains[chainId]!.nodes.push(planned.get(node.id)!);
      chainOf.set(node.id, chainId);
    } else {
      const p = planned.get(node.id)!;
      chains.push({ id: chains.length, nodes: [p], parallelism: p.parallelism, isSource: node.kind === 'source' });
      chainOf.set(node.id, chains.length - 1);
    }
  }
  const edges: ChainEdge[] = [];
  for (const node of graph.nodes) {
    if (chainedToPrevious(node)) continue;
    node.inputs.forEach((input, i) => {
      const from = chainOf.get(input.from.id)!;
      const to = chainOf.get(node.id)!;
      if (input.partitioning.kind === 'forward' && chains[from]!.parallelism !== chains[to]!.parallelism) {
        throw new UserError(`forward partitioning between '${planned.get(input.from.id)!.uid}' (parallelism ${chains[from]!.parallelism}) and '${planned.get(node.id)!.uid}' (parallelism ${chains[to]!.parallelism}) needs equal parallelism: use rebalance() or keyBy()`);
      }
      edges.push({ from, to, input: i, partitioning: input.partitioning });
    });
  }
  return { chains, edges, nodes: [...planned.values()] };
}
