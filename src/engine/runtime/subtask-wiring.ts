/**
 * Builds the subtasks of one attempt that run in this thread: their input channels, output
 * record writers, restore plans and hooks. The same wiring serves every placement; only where
 * a channel's other end lives differs, which `channels` decides.
 */
import type { LocalRecovery } from '../checkpoint/local-recovery.ts';
import type { SnapshotReader } from '../../format/snapshot-reader.ts';
import type { SubtaskRestorePlan } from '../state/restore-plan.ts';
import type { StateBackendOptions, StateBackendType } from '../state/state-backend-type.ts';
import type { AttemptCoordination } from './attempt-deployment.ts';
import type { ChannelReceiver, ChannelSender } from './channel.ts';
import type { ProcessingTimeClock } from './clock.ts';
import type { Chain, JobPlan } from './job-plan.ts';
import { isPointwise, pointwiseSources, pointwiseTargets } from './pointwise.ts';
import { RecordWriter } from './record-writer.ts';
import { Subtask } from './subtask.ts';

/** The ends of the channel of edge `edge` from upstream subtask `from` to downstream subtask `to`. */
export interface ChannelProvider {
  sender(edge: number, from: number, to: number): ChannelSender;
  receiver(edge: number, from: number, to: number): ChannelReceiver;
}

export interface WiringSpec {
  readonly jobId: string;
  readonly plan: JobPlan;
  readonly chains: readonly Chain[];
  readonly attempt: number;
  readonly mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  readonly checkpointing: boolean;
  readonly localRecovery?: LocalRecovery | undefined;
  /** `execution.checkpointing.incremental` on (see SubtaskSpec.incremental). */
  readonly incremental?: { readonly buildOnRestore: boolean } | undefined;
  readonly stateBackend?: StateBackendType;
  readonly stateBackendOptions?: StateBackendOptions;
  readonly clock?: ProcessingTimeClock;
  readonly restore: { readonly reader: SnapshotReader; readonly plans: ReadonlyMap<string, readonly SubtaskRestorePlan[]> } | undefined;
  /** Whether subtask `index` of chain `chain` runs here. */
  readonly runsHere: (chain: number, index: number) => boolean;
  readonly channels: ChannelProvider;
  readonly coordination: AttemptCoordination;
}

export function wireSubtasks(spec: WiringSpec): Subtask[] {
  const { plan, chains, restore, channels, coordination } = spec;
  const subtasks: Subtask[] = [];
  for (const chain of chains) {
    const head = chain.nodes[0]!;
    const restoredHead = restore?.plans.get(head.uid)?.[0]?.snapshotUid != null;
    const initialSplits = restoredHead ? undefined : head.node.source?.createSplits(chain.parallelism);
    for (let i = 0; i < chain.parallelism; i++) {
      if (!spec.runsHere(chain.id, i)) continue;
      // Pointwise edges (forward, rescale) pair a few subtasks (pointwise.ts); the others connect every pair.
      const inbound = plan.edges.flatMap((e, ei) => {
        if (e.to !== chain.id) return [];
        const upstream = chains[e.from]!.parallelism;
        const sources = isPointwise(e.partitioning) ? pointwiseSources(upstream, chain.parallelism, i) : range(upstream);
        return sources.map((u) => ({ channel: channels.receiver(ei, u, i), input: e.input }));
      });
      const outputs = plan.edges.flatMap((e, ei) => {
        if (e.from !== chain.id) return [];
        const target = chains[e.to]!;
        const downstream = isPointwise(e.partitioning) ? pointwiseTargets(chain.parallelism, target.parallelism, i) : range(target.parallelism);
        return [new RecordWriter(downstream.map((d) => channels.sender(ei, i, d)), e.partitioning, i, target.nodes[0]!.maxParallelism, e.sideOutput)];
      });
      const plans = new Map<string, SubtaskRestorePlan>();
      for (const n of chain.nodes) {
        const p = restore?.plans.get(n.uid)?.[i];
        if (p !== undefined) plans.set(n.uid, p);
      }
      const key = { chain: chain.id, index: i };
      subtasks.push(
        new Subtask({
          jobId: spec.jobId,
          chain,
          index: i,
          attempt: spec.attempt,
          mode: spec.mode,
          inputs: inbound.map((x) => x.channel),
          inputOfChannel: inbound.map((x) => x.input),
          outputs,
          checkpointing: spec.checkpointing,
          ...(spec.localRecovery === undefined ? {} : { localRecovery: spec.localRecovery }),
          ...(spec.incremental === undefined ? {} : { incremental: spec.incremental }),
          ...(spec.stateBackend === undefined ? {} : { stateBackend: spec.stateBackend }),
          ...(spec.stateBackendOptions === undefined ? {} : { stateBackendOptions: spec.stateBackendOptions }),
          ...(spec.clock === undefined ? {} : { clock: spec.clock }),
          hooks: {
            finished: () => coordination.finished(key),
            pendingCheckpoints: () => coordination.pendingCheckpoints(),
            checkpointTarget: (id) => coordination.checkpointTarget(id),
            acknowledge: (ack) => coordination.acknowledge(ack),
            decline: (id, reason, why) => coordination.decline(id, reason, why),
          },
          ...(restore === undefined ? {} : { restore: { reader: restore.reader, plans } }),
          ...(initialSplits === undefined ? {} : { initialSplits: initialSplits.filter((_, k) => k % chain.parallelism === i) }),
        }),
      );
    }
  }
  return subtasks;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
