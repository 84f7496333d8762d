/**
 * What a restarted JobManager resumes a job from. The record's pointer may lag behind the
 * checkpoint directory (the JobManager can die between a checkpoint's completion and the
 * record's update, and the coordinator may meanwhile have deleted the checkpoint the pointer names),
 * so the job's checkpoint directory is listed: every `chk-<n>` with a `_metadata` is retained, and
 * the JobMaster thread's start picks the newest intact one.
 */
import { checkpointConfigFromKeys } from '../checkpoint/checkpoint-config.ts';
import { toCheckpointId } from '../checkpoint/coordinator-decisions.ts';
import { METADATA_FILE } from '../../format/snapshot-paths.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import type { JobRecord } from './job-store.ts';

export async function recoverCheckpoints(record: JobRecord, storeOptions: OpenStoreOptions): Promise<void> {
  // A job that never registered has only its configuration (where old key names count too).
  const dir = record.checkpointConfig?.dir ?? checkpointConfigFromKeys(new Map(Object.entries(record.config))).dir;
  if (dir === undefined || dir === null) return;
  const base = `${dir.replace(/\/+$/, '')}/${record.jobId}`;
  const claimed = await stillClaimed(record, base, storeOptions);
  const ids: number[] = [];
  // Ids of checkpoints that were started, complete or not: the job never uses one again (a JobManager
  // or TaskManager that died while writing chk-n left files there, which must not mix with a new chk-n).
  let highestStarted = 0;
  try {
    const store = await openStore(base, storeOptions);
    for await (const { key } of store.list('')) {
      const started = /^chk-(\d+)\//.exec(key);
      if (started !== null) highestStarted = Math.max(highestStarted, Number(started[1]));
      const match = /^chk-(\d+)\/_metadata$/.exec(key);
      if (match !== null) ids.push(Number(match[1]));
    }
  } catch {
    return; // no checkpoint directory yet: nothing was checkpointed
  }
  // One found damaged before stays out: it would be checked, and reported, again on every start.
  const damaged = new Set((record.damagedCheckpoints ?? []).map((c) => c.id));
  ids.splice(0, ids.length, ...ids.filter((id) => !damaged.has(id)));
  record.nextCheckpointId = Math.max(record.nextCheckpointId, highestStarted + 1);
  if (ids.length === 0) return;
  ids.sort((a, b) => a - b);
  // Which of them is intact is decided when the JobMaster thread starts (chooseRestoreCheckpoint), as on
  // every restart; here the directory only corrects a record that lags behind it.
  const known = new Map<number, (typeof record.retained)[number]>(record.retained.map((c) => [c.id, c]));
  record.retained = [...claimed.filter((c) => !damaged.has(c.id)), ...ids.map((id) => known.get(id) ?? { id: toCheckpointId(id), location: `${base}/chk-${id}`, completedAt: Date.now() })];
  record.nextCheckpointId = Math.max(record.nextCheckpointId, (ids.at(-1) ?? 0) + 1);
}

/**
 * The snapshot the job claimed (`--claimMode claim`) lives outside its checkpoint directory, so
 * the listing cannot find it: it stays retained as long as its `_metadata` exists (the coordinator
 * may have deleted it, subsumed, after the record was last written).
 */
async function stillClaimed(record: JobRecord, base: string, storeOptions: OpenStoreOptions): Promise<JobRecord['retained']> {
  const kept: JobRecord['retained'] = [];
  for (const c of record.retained) {
    if (c.location.startsWith(`${base}/`)) continue;
    const exists = await openStore(c.location, storeOptions)
      .then((store) => store.stat(METADATA_FILE))
      .catch(() => undefined);
    if (exists !== undefined) kept.push(c);
  }
  return kept;
}
