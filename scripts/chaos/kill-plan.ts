/**
 * The chaos suite's schedule: which process to kill, how, and how long after the job is running
 * again, drawn from a seed so a failing run can be repeated exactly (`--seed`).
 */
import { mulberry32 } from '../../src/engine/connectors/data-generator-source.ts';
import type { FaultPointName } from '../../src/engine/runtime/fault-points.ts';

export type KillKind =
  /** SIGKILL a TaskManager holding the job's slots at a random moment. */
  | 'taskmanager'
  /** SIGKILL the JobManager (the job's JobMaster thread, its coordinator, goes with it), then start it again. */
  | 'jobmanager'
  /** As 'jobmanager', and damage the newest checkpoint on disk before starting it again. */
  | 'jobmanager-corrupt'
  /**
   * With `--incremental`: as 'jobmanager', and damage a file under `<jobId>/shared/` that the
   * newest checkpoint refers to (preferably one an older checkpoint wrote) and the oldest retained
   * one does not, so recovery must skip every checkpoint referring to it.
   */
  | 'shared-corrupt'
  /**
   * With `--partitions`: cut a TaskManager holding the job's slots off without killing it
   * (SIGSTOP: its heartbeats and links stall, as under a network partition or a long GC pause)
   * until the JobManager has failed the attempt and the job runs again elsewhere, then SIGCONT
   * it: a zombie of a failed attempt that must cancel its subtasks and commit nothing more.
   */
  | 'partition'
  /**
   * The process that reaches this fault point SIGKILLs itself: a TaskManager while a subtask
   * writes its checkpoint data, a sink commits, or a restored sink finishes its transactions; the
   * JobManager while its coordinator writes a checkpoint's `_metadata`.
   */
  | FaultPointName;

export interface PlannedKill {
  readonly kind: KillKind;
  /** How long to let the job run after it recovered from the previous kill. */
  readonly afterMs: number;
}

const WEIGHTS: readonly (readonly [KillKind, number])[] = [
  ['taskmanager', 30],
  ['jobmanager', 15],
  ['jobmanager-corrupt', 5],
  ['snapshot-data', 15],
  ['snapshot-metadata', 10],
  ['sink-commit', 15],
  ['sink-restore', 10],
];

/** With incremental checkpoints: a shared file is damaged as often as a checkpoint's own files. */
const SHARED_CORRUPT_WEIGHT = 5;
/** With `--partitions`: as often as a plain TaskManager kill, which it resembles most. */
const PARTITION_WEIGHT = 30;

export function planKills(seed: number, count: number, options: { corrupt: boolean; incremental?: boolean; partitions?: boolean; minMs: number; maxMs: number }): PlannedKill[] {
  const random = mulberry32(seed);
  // Opt-in kinds come last, so without them every seed draws the schedule it always drew.
  const kinds = [
    ...WEIGHTS,
    ...(options.incremental === true ? ([['shared-corrupt', SHARED_CORRUPT_WEIGHT]] as const) : []),
    ...(options.partitions === true ? ([['partition', PARTITION_WEIGHT]] as const) : []),
  ].filter(([kind]) => options.corrupt || (kind !== 'jobmanager-corrupt' && kind !== 'shared-corrupt'));
  const total = kinds.reduce((sum, [, w]) => sum + w, 0);
  const plan: PlannedKill[] = [];
  for (let i = 0; i < count; i++) {
    let pick = random() * total;
    let kind: KillKind = kinds[0]![0];
    for (const [k, w] of kinds) {
      if (pick < w) {
        kind = k;
        break;
      }
      pick -= w;
    }
    plan.push({ kind, afterMs: Math.round(options.minMs + random() * (options.maxMs - options.minMs)) });
  }
  return plan;
}

/** A `sink-restore` kill needs a restore to happen: a TaskManager is killed once more to cause it. */
export const killsOf = (kind: KillKind): number => (kind === 'sink-restore' ? 2 : 1);
