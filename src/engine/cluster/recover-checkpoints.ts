/**
 * What a restarted JobManager resumes a job from. The record's pointer may lag behind the
 * checkpoint directory (the JobManager can die between a checkpoint's completion and the
 * record's update, and the worker may meanwhile have deleted the checkpoint the pointer names),
 * so the job's checkpoint directory is listed: the newest `chk-<n>` whose `_metadata` opens is
 * the one to resume from. A damaged one is reported and skipped for the one before it.
 */
import { checkpointConfigFromKeys } from '../checkpoint/checkpoint-config.ts';
import { toCheckpointId } from '../checkpoint/coordinator-decisions.ts';
import { openSnapshot } from '../../open-snapshot.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import type { JobRecord } from './job-store.ts';

export async function recoverCheckpoints(record: JobRecord, storeOptions: OpenStoreOptions, log: (line: string) => void): Promise<void> {
  // A job that never registered has only its configuration (where old key names count too).
  const dir = record.checkpointConfig?.dir ?? checkpointConfigFromKeys(new Map(Object.entries(record.config))).dir;
  if (dir === undefined || dir === null) return;
  const base = `${dir.replace(/\/+$/, '')}/${record.jobId}`;
  const ids: number[] = [];
  try {
    const store = await openStore(base, storeOptions);
    for await (const { key } of store.list('')) {
      const match = /^chk-(\d+)\/_metadata$/.exec(key);
      if (match !== null) ids.push(Number(match[1]));
    }
  } catch {
    return; // no checkpoint directory yet: nothing was checkpointed
  }
  ids.sort((a, b) => b - a);
  for (const id of ids) {
    const location = `${base}/chk-${id}`;
    try {
      await openSnapshot(location, storeOptions);
    } catch (err) {
      log(`job ${record.jobId}: checkpoint ${location} cannot be used (${err instanceof Error ? err.message : String(err)}); trying the one before it`);
      continue;
    }
    record.retained = [...record.retained.filter((c) => c.id < id), { id: toCheckpointId(id), location, completedAt: Date.now() }];
    record.nextCheckpointId = Math.max(record.nextCheckpointId, id + 1);
    return;
  }
  record.retained = [];
}
