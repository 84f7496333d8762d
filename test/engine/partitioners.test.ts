/**
 * Where each partitioner sends records, through the whole engine: upstream subtask u emits its
 * records in index order, and each record is seen by exactly one downstream subtask, chosen as
 * Flink's partitioners choose (rebalance and rescale round robin from the first channel; rescale
 * only over the subtasks paired with u; global to subtask 0; forward to the same index; shuffle at
 * random). Also: forward() between different parallelisms is refused with Flink's message, while
 * an edge without a partitioner then rebalances.
 */
import { describe, expect, it } from 'vitest';
import type { DataStream } from '../../src/engine/api/data-stream.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { MapFunction } from '../../src/engine/api/functions.ts';
import type { RuntimeContext } from '../../src/engine/api/runtime-context.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { executionPlan } from '../../src/engine/cluster/execution-plan.ts';
import { planJob } from '../../src/engine/runtime/job-plan.ts';

interface Routed {
  readonly i: number;
  readonly up: number;
  readonly down?: number;
}

/** The subtask index stamped on each record passing through (a copy per subtask). */
function stamp(field: 'up' | 'down'): MapFunction<Routed, Routed> {
  return {
    subtask: -1,
    open(ctx: RuntimeContext) {
      (this as unknown as { subtask: number }).subtask = ctx.subtaskIndex;
    },
    map(r: Routed): Routed {
      return { ...r, [field]: (this as unknown as { subtask: number }).subtask };
    },
  } as MapFunction<Routed, Routed>;
}

/** `records` records, upstream subtask u emitting indices u, u + up, ... in order; returns where each went. */
async function route(up: number, down: number, partition: (s: DataStream<Routed>) => DataStream<Routed>, records = 24): Promise<Routed[]> {
  const seen: Routed[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(up);
  const upstream = env.fromSource(new DataGeneratorSource<Routed>({ count: records, splits: up, generate: (i) => ({ i, up: -1 }) }), 'numbers').map(stamp('up'));
  partition(upstream)
    .map(stamp('down'))
    .setParallelism(down)
    .sinkTo(() => ({ invoke: (r: Routed) => void seen.push(r) }))
    .setParallelism(down);
  await env.execute('route');
  expect(seen.map((r) => r.i).sort((a, b) => a - b)).toEqual(Array.from({ length: records }, (_, i) => i)); // each record once
  return seen;
}

/** For each upstream subtask, the downstream subtask of each of its records, in emission order. */
function targets(seen: readonly Routed[], up: number): number[][] {
  return Array.from({ length: up }, (_, u) =>
    seen
      .filter((r) => r.up === u)
      .sort((a, b) => a.i - b.i)
      .map((r) => r.down!),
  );
}

describe('partitioners', () => {
  it('rescale 2 -> 4: each upstream subtask round robin over its own two downstream subtasks', async () => {
    const seen = await route(2, 4, (s) => s.rescale());
    expect(targets(seen, 2)).toEqual([
      [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
      [2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3],
    ]);
  });

  it('rescale 4 -> 2: subtasks 0 and 1 feed subtask 0, 2 and 3 feed subtask 1', async () => {
    const seen = await route(4, 2, (s) => s.rescale());
    expect(targets(seen, 4).map((t) => [...new Set(t)])).toEqual([[0], [0], [1], [1]]);
  });

  it('rebalance 2 -> 3: each upstream subtask round robin over all three', async () => {
    const seen = await route(2, 3, (s) => s.rebalance());
    expect(targets(seen, 2)).toEqual([
      [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
      [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    ]);
  });

  it('global 2 -> 3: everything to subtask 0', async () => {
    const seen = await route(2, 3, (s) => s.global());
    expect(new Set(seen.map((r) => r.down))).toEqual(new Set([0]));
  });

  it('forward 3 -> 3: subtask i to subtask i', async () => {
    const seen = await route(3, 3, (s) => s.forward());
    for (const r of seen) expect(r.down).toBe(r.up);
  });

  it('shuffle 1 -> 4: each record to one subtask, all subtasks used', async () => {
    const seen = await route(1, 4, (s) => s.shuffle(), 400);
    expect(new Set(seen.map((r) => r.down))).toEqual(new Set([0, 1, 2, 3])); // (3/4)^400 chance of a miss per subtask
  });

  it('refuses forward() between parallelism 2 and 3 when the job is built, with Flink’s message', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env
      .fromElements(1, 2, 3)
      .map((v) => v)
      .name('map-a')
      .forward()
      .map((v) => v)
      .name('map-b')
      .setParallelism(3)
      .sinkTo(() => ({ invoke: () => undefined }));
    await expect(Promise.resolve().then(() => env.execute('forward'))).rejects.toThrow(
      'Forward partitioning does not allow change of parallelism. Upstream operation: map-a-2 parallelism: 2, downstream operation: map-b-3 parallelism: 3 You must use another partitioning strategy, such as broadcast, rebalance, shuffle or global.',
    );
  });

  it('union and connect keep the partitioner asked for on an input', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const a = env.fromElements(1, 2);
    const b = env.fromElements(3, 4);
    a.shuffle()
      .union(b.rescale())
      .connect(a.global())
      .process<number>({ processElement1: (v, _c, out) => out.collect(v), processElement2: (v, _c, out) => out.collect(v) })
      .sinkTo(() => ({ invoke: () => undefined }));
    const strategies = executionPlan(planJob(env.graph, { parallelism: 2 })).nodes.map((n) => `${n.type}: ${(n.predecessors ?? []).map((p) => p.ship_strategy).join(', ')}`);
    expect(strategies).toEqual(['Source: Elements: ', 'Source: Elements: ', 'Union: SHUFFLE, RESCALE', 'Co-Process: REBALANCE, GLOBAL', 'Sink: Sink: FORWARD']);
  });

  it('an edge without a partitioner is forward (chained) at equal parallelism and rebalance otherwise, as Flink', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const s = env.fromElements(1, 2, 3).map((v) => v);
    s.map((v) => v)
      .setParallelism(3)
      .rescale()
      .map((v) => v)
      .shuffle()
      .map((v) => v)
      .global()
      .sinkTo(() => ({ invoke: () => undefined }));
    const plan = planJob(env.graph, { parallelism: 2 });
    expect(plan.chains.map((c) => c.nodes.map((n) => n.name).join(' -> '))).toEqual(['Elements -> Map', 'Map', 'Map', 'Map', 'Sink']);
    expect(executionPlan(plan).nodes.flatMap((n) => (n.predecessors ?? []).map((p) => p.ship_strategy))).toEqual(['FORWARD', 'REBALANCE', 'RESCALE', 'SHUFFLE', 'GLOBAL']);
  });
});
