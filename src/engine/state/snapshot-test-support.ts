/**
 * Test helper: writes the snapshots of one operator's subtasks as the engine will (one data file
 * per subtask, blocks handed to a SnapshotWriter, `_metadata` published last).
 */
import type { SnapshotMetadata } from '../../format/model.ts';
import { SnapshotWriter } from '../../format/snapshot-writer.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { KeyedStateSnapshot } from './keyed-state-backend.ts';
import type { SnapshotTtlLayout } from './ttl/ttl-states.ts';
import { writeKeyedSnapshot } from './write-keyed-snapshot.ts';
import { type OperatorStateSnapshot, writeOperatorSnapshot } from './operator-state-store.ts';

export const TEST_JOB_ID = '0123456789abcdef0123456789abcdef';

export interface SubtaskSnapshots {
  readonly keyed?: KeyedStateSnapshot;
  /** How TTL states are laid out (TtlStates.snapshotLayout, taken with `keyed`). */
  readonly ttl?: SnapshotTtlLayout;
  readonly operator?: OperatorStateSnapshot;
}

export interface OperatorSnapshots {
  readonly uid: string;
  readonly maxParallelism: number;
  /** Index = subtask; the length is the parallelism. */
  readonly subtasks: readonly SubtaskSnapshots[];
}

export async function writeOperatorSnapshots(store: ObjectStore, operators: readonly OperatorSnapshots[]): Promise<SnapshotMetadata> {
  const writer = new SnapshotWriter(store, { kind: 'savepoint', jobId: TEST_JOB_ID, jobName: 'test', checkpointId: 1 });
  try {
    for (const op of operators) {
      writer.addOperator({ uid: op.uid, parallelism: op.subtasks.length, maxParallelism: op.maxParallelism });
      for (const [subtask, snaps] of op.subtasks.entries()) {
        const file = await writer.openDataFile(op.uid, subtask);
        if (snaps.keyed !== undefined) {
          for (const { info, blocks } of await writeKeyedSnapshot(snaps.keyed, file, op.uid, snaps.ttl)) writer.addKeyedState(op.uid, info, blocks);
        }
        if (snaps.operator !== undefined) {
          for (const { info, block } of await writeOperatorSnapshot(snaps.operator, file, op.uid)) {
            writer.addOperatorState(op.uid, info, subtask, block);
          }
        }
        await writer.closeDataFile(file);
      }
    }
    return await writer.finish();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
}
