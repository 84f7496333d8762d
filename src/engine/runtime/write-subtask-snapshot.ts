/**
 * The asynchronous half of a subtask's checkpoint: what the barrier captured (copy-on-write
 * snapshots, so processing goes on meanwhile) is written to one data file for the subtask, and the
 * coordinator gets the block references, or the reason it failed.
 */
import { performance } from 'node:perf_hooks';
import { DataFileWriter } from '../../format/data-file-writer.ts';
import { operatorIdFromUid, toHex } from '../../format/murmur3.ts';
import { dataFilePath } from '../../format/snapshot-paths.ts';
import type { KeyedStateSnapshot } from '../state/keyed-state-backend.ts';
import { type OperatorStateSnapshot, writeOperatorSnapshot } from '../state/operator-state-store.ts';
import type { SnapshotTtlLayout } from '../state/ttl/ttl-states.ts';
import { writeKeyedSnapshot } from '../state/write-keyed-snapshot.ts';
import { LocalCopyTeeStore } from '../../storage/local-copy-tee.ts';
import { type LocalRecovery, localCheckpointDir } from '../checkpoint/local-recovery.ts';
import { faultPoint } from './fault-points.ts';
import type { CheckpointTarget, SubtaskAck, SubtaskHooks } from './subtask.ts';

/** One operator's state as the barrier captured it. */
export interface CapturedOperator {
  readonly uid: string;
  readonly keyed: KeyedStateSnapshot | undefined;
  /** How TTL states are laid out and cleaned up in this snapshot, taken with it. */
  readonly ttl?: SnapshotTtlLayout | undefined;
  /** The keyed state backend of a keyed operator. */
  readonly stateBackend?: string;
  readonly operator: OperatorStateSnapshot;
}

export interface SubtaskSnapshotJob {
  readonly checkpointId: number;
  /** Resolves to undefined when the snapshot was aborted before its location was known here. */
  readonly target: CheckpointTarget | Promise<CheckpointTarget | undefined>;
  /** The chain's id and its head's uid (the data file is named after the head). */
  readonly chain: { readonly id: number; readonly headUid: string };
  readonly subtask: number;
  readonly captured: readonly CapturedOperator[];
  readonly hooks: Pick<SubtaskHooks, 'acknowledge' | 'decline'>;
  /** How long capturing `captured` held the processing thread (reported with the ack). */
  readonly syncMs: number;
  /** Local recovery on: a checkpoint's (never a savepoint's) data file is also copied below it. */
  readonly localRecovery?: LocalRecovery | undefined;
}

/** Never rejects: the outcome goes to the hooks, and the captured snapshots are always released. */
export async function writeSubtaskSnapshot(job: SubtaskSnapshotJob): Promise<void> {
  const { checkpointId, chain, subtask, captured, hooks, syncMs } = job;
  const asyncStart = performance.now();
  let writer: DataFileWriter | undefined;
  try {
    const target = await job.target;
    if (target === undefined) return; // aborted: nothing to write
    const store = job.localRecovery === undefined || target.savepoint ? target.store : new LocalCopyTeeStore(target.store, localCheckpointDir(job.localRecovery, checkpointId));
    writer = await DataFileWriter.create(store, dataFilePath(toHex(operatorIdFromUid(chain.headUid)).slice(0, 12), subtask));
    const operators: SubtaskAck['operators'][number][] = [];
    for (const c of captured) {
      const keyed = c.keyed === undefined ? [] : await writeKeyedSnapshot(c.keyed, writer, c.uid, c.ttl);
      operators.push({ uid: c.uid, ...(c.stateBackend === undefined ? {} : { stateBackend: c.stateBackend }), keyed, operator: await writeOperatorSnapshot(c.operator, writer, c.uid) });
      faultPoint('snapshot-data');
    }
    const file = await writer.close();
    hooks.acknowledge({ checkpointId, chain: chain.id, subtask, file, operators, syncMs, asyncMs: performance.now() - asyncStart });
  } catch (err) {
    await writer?.abort().catch(() => undefined);
    hooks.decline(checkpointId, err);
  } finally {
    for (const c of captured) c.keyed?.release();
  }
}
