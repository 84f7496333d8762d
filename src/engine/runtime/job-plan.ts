/**
 * Compiles the StreamGraph into what runs: every node gets its uid, parallelism and max
 * parallelism, and nodes joined by forward edges at equal parallelism are chained into one task
 * (as Flink chains operators), so records between them are plain calls, not serialized batches.
 * Side-output nodes are resolved here into edges that carry an OutputTag id.
 */
import { UserError } from '../../errors.ts';
import { checkParallelism, defaultMaxParallelism } from '../../format/key-groups.ts';
import type { Partitioning, StreamGraph, StreamNode } from '../api/stream-graph.ts';

/** An input of a planned node: side-output nodes resolved, implicit forward settled. */
export interface PlannedInput {
  readonly from: StreamNode;
  readonly partitioning: Partitioning;
  /** The OutputTag id when the edge carries a side output of `from`, not its main output. */
  readonly sideOutput?: string;
}

export interface PlannedNode {
  readonly node: StreamNode;
  readonly inputs: readonly PlannedInput[];
  /** Chained to the node before it through that node's side output with this tag. */
  readonly chainedSideOutput?: string;
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
  /** The OutputTag id when the edge carries a side output of the upstream chain's last node. */
  readonly sideOutput?: string;
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
  const real = graph.nodes.filter((n) => n.kind !== 'side-output');
  const settings = new Map<number, { uid: string; parallelism: number; maxParallelism: number; configured: number | undefined }>();
  const uids = new Set<string>();
  for (const node of real) {
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
    settings.set(node.id, { uid, parallelism, maxParallelism, configured });
  }
  const parallelismOf = (node: StreamNode): number => settings.get(node.id)!.parallelism;

  const planned = new Map<number, PlannedNode>();
  for (const node of real) {
    const inputs = node.inputs.map((input) => resolveInput(input.from, input.partitioning, node, parallelismOf));
    const s = settings.get(node.id)!;
    planned.set(node.id, { node, inputs, uid: s.uid, name: node.name, parallelism: s.parallelism, maxParallelism: s.maxParallelism, maxParallelismConfigured: s.configured !== undefined });
  }

  const consumers = new Map<number, number>();
  for (const p of planned.values()) for (const input of p.inputs) consumers.set(input.from.id, (consumers.get(input.from.id) ?? 0) + 1);
  // Chains are linear here: a node chains to its input when it is that input's only consumer
  // (Flink chains a side-output edge as any other forward edge).
  const chainedToPrevious = (p: PlannedNode): boolean => {
    if (p.inputs.length !== 1) return false;
    const input = p.inputs[0]!;
    return input.partitioning.kind === 'forward' && consumers.get(input.from.id) === 1 && parallelismOf(input.from) === p.parallelism && p.node.keyOf === undefined;
  };

  const chainOf = new Map<number, number>();
  const chains: { id: number; nodes: PlannedNode[]; parallelism: number; isSource: boolean }[] = [];
  for (const node of real) {
    // Nodes are added in dependency order, so an input's chain exists already.
    let p = planned.get(node.id)!;
    if (chainedToPrevious(p)) {
      const input = p.inputs[0]!;
      if (input.sideOutput !== undefined) {
        p = { ...p, chainedSideOutput: input.sideOutput };
        planned.set(node.id, p);
      }
      const chainId = chainOf.get(input.from.id)!;
      chains[chainId]!.nodes.push(p);
      chainOf.set(node.id, chainId);
    } else {
      chains.push({ id: chains.length, nodes: [p], parallelism: p.parallelism, isSource: node.kind === 'source' });
      chainOf.set(node.id, chains.length - 1);
    }
  }
  const edges: ChainEdge[] = [];
  for (const node of real) {
    const p = planned.get(node.id)!;
    if (chainedToPrevious(p)) continue;
    p.inputs.forEach((input, i) => {
      const from = chainOf.get(input.from.id)!;
      const to = chainOf.get(node.id)!;
      edges.push({ from, to, input: i, partitioning: input.partitioning, ...(input.sideOutput === undefined ? {} : { sideOutput: input.sideOutput }) });
    });
  }
  return { chains, edges, nodes: [...planned.values()] };
}

/**
 * An edge as it runs (Flink's StreamGraph.addEdge): from a side-output node, it comes from that
 * node's input carrying the tag; without a partitioner asked for, it is forward at equal
 * parallelism and rebalance otherwise; an explicit forward between different parallelisms is
 * refused with Flink's message.
 */
function resolveInput(from: StreamNode, partitioning: Partitioning, to: StreamNode, parallelismOf: (node: StreamNode) => number): PlannedInput {
  let upstream = from;
  let sideOutput: string | undefined;
  if (from.kind === 'side-output') {
    upstream = from.inputs[0]!.from;
    sideOutput = from.sideOutputTag;
    if (upstream.kind === 'side-output') throw new UserError(`the side output '${sideOutput}' is taken from another side output: call getSideOutput on the operator that emits it`);
  }
  let resolved = partitioning;
  if (partitioning.kind === 'forward' && parallelismOf(upstream) !== parallelismOf(to)) {
    if (partitioning.explicit !== true) resolved = { kind: 'rebalance' };
    else {
      throw new UserError(
        `Forward partitioning does not allow change of parallelism. Upstream operation: ${upstream.name}-${upstream.id + 1} parallelism: ${parallelismOf(upstream)}, ` +
          `downstream operation: ${to.name}-${to.id + 1} parallelism: ${parallelismOf(to)} You must use another partitioning strategy, such as broadcast, rebalance, shuffle or global.`,
      );
    }
  }
  return { from: upstream, partitioning: resolved, ...(sideOutput === undefined ? {} : { sideOutput }) };
}
