/**
 * Which retained checkpoint a restart resumes from. The newest is checked byte by byte first
 * (`verifySnapshot`: every file's size and header, every block's checksum) because a restore
 * that stopped halfway through a damaged file would already have committed the sinks' restored
 * transactions and restored some subtasks, and would then fail again on every restart. A damaged
 * checkpoint is reported with the file and the problem and the one before it is tried. When every
 * retained checkpoint is damaged the job must fail: starting empty would silently drop its state
 * and re-emit everything since its beginning.
 *
 * Errors that are not findings about the checkpoint (storage unreachable, a file this version
 * cannot read) propagate: they say nothing about whether an older checkpoint is better.
 */
import { UserError } from '../../errors.ts';
import { verifySnapshot } from '../../format/verify-snapshot.ts';
import { openSnapshotStore } from '../../open-snapshot.ts';
import type { OpenStoreOptions } from '../../storage/open-store.ts';
import { type LocalRecovery, localFirstStore } from './local-recovery.ts';

export interface RetainedCheckpoint {
  readonly id: number;
  readonly location: string;
}

export interface DamagedCheckpoint {
  readonly checkpoint: RetainedCheckpoint;
  /** The first problem found: file, offset where known, and what is wrong. */
  readonly problem: string;
}

export interface RestoreChoice<C extends RetainedCheckpoint> {
  /** The newest intact checkpoint; undefined only when nothing was retained. */
  readonly chosen: C | undefined;
  /** Newer checkpoints that were skipped, newest first. */
  readonly damaged: readonly DamagedCheckpoint[];
}

export class NoIntactCheckpointError extends UserError {
  override readonly name: string = 'NoIntactCheckpointError';
  constructor(readonly damaged: readonly DamagedCheckpoint[]) {
    const list = damaged.map((d) => `checkpoint ${d.checkpoint.id} (${d.problem})`).join('; ');
    super(
      `Cannot restore: every retained checkpoint is damaged: ${list}. The job is not started empty; ` +
        `restore it from a savepoint with 'flink run -s <path>', and consider keeping more checkpoints (execution.checkpointing.num-retained).`,
      1,
    );
  }
}

/** `retained` oldest first, as the coordinator and the job record keep them. */
/**
 * With local recovery, a checkpoint's data files are checked through their local copies where
 * those are intact (the restore reads them, not the remote objects); `_metadata` is read remotely.
 */
export async function chooseRestoreCheckpoint<C extends RetainedCheckpoint>(retained: readonly C[], storeOptions: OpenStoreOptions, local?: LocalRecovery): Promise<RestoreChoice<C>> {
  const damaged: DamagedCheckpoint[] = [];
  for (const checkpoint of [...retained].reverse()) {
    const problem = await firstProblem(checkpoint.location, storeOptions, local);
    if (problem === undefined) return { chosen: checkpoint, damaged };
    damaged.push({ checkpoint, problem });
  }
  if (damaged.length > 0) throw new NoIntactCheckpointError(damaged);
  return { chosen: undefined, damaged };
}

async function firstProblem(location: string, storeOptions: OpenStoreOptions, local: LocalRecovery | undefined): Promise<string | undefined> {
  let report: Awaited<ReturnType<typeof verifySnapshot>>;
  try {
    const store = await openSnapshotStore(location, storeOptions);
    report = await verifySnapshot(local === undefined ? store : await localFirstStore(store, location, local));
  } catch (err) {
    // A checkpoint directory that lost its _metadata (or the whole directory) is damaged too.
    if (err instanceof UserError && /does not exist|no such|not a snapshot|no _metadata/i.test(err.message)) return err.message;
    throw err;
  }
  const first = report.problems[0];
  if (first === undefined) return undefined;
  const more = report.problems.length > 1 ? ` (and ${report.problems.length - 1} more problems)` : '';
  return `${first.file}${first.offset === undefined ? '' : ` at offset ${first.offset}`}: ${first.message}${more}`;
}
