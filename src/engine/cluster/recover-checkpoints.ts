/**
 * What a restarted JobManager resumes a job from. The record's pointer may lag behind the
 * checkpoint directory (the JobManager can die between a checkpoint's completion and the
 * record's update, and the worker may meanwhile have deleted the checkpoint the pointer names),
 * so the job's checkpoint directory is listed: every `chk-<n>` with a `_metadata` is retained, and
 * the worker's start picks the newest intact one.
 */
import { checkpointConfigFromKeys } from '../checkpoint/checkpoint-config.ts';
import { toCheckpointId } from '../checkpoint/coordinator-decisions.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import type { JobRecord } from './job-store.ts';

export async function recoverCheckpoints(record: JobRecord, storeOptions: OpenStoreOptions): Promise<void> {
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
  // One found damaged before stays out: it would be checked, and reported, again on every start.
  const damaged = new Set((record.damagedCheckpoints ?? []).map((c) => c.id));
  ids.splice(0, ids.length, ...ids.filter((id) => !damaged.has(id)));
  if (ids.length === 0) return;
  ids.sort((a, b) => a - b);
  // Which of them is intact is decided when the worker starts (chooseRestoreCheckpoint), as on
  // every restart; here the directory only corrects a record that lags behind it.
  const known = new Map<number, (typeof record.retained)[number]>(record.retained.map((c) => [c.id, c]));
  record.retained = ids.map((id) => known.get(id) ?? { id: toCheckpointId(id), location: `${base}/chk-${id}`, completedAt: Date.now() });
  record.nextCheckpointId = Math.max(record.nextCheckpointId, (ids.at(-1) ?? 0) + 1);
}
