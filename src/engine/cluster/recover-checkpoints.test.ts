import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { toCheckpointId } from '../checkpoint/checkpoint-types.ts';
import type { JobRecord } from './job-store.ts';
import { recoverCheckpoints } from './recover-checkpoints.ts';

const JOB = '0123456789abcdef0123456789abcdef';
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  dir = await tempDir('tsflink-recover-');
});
afterAll(async () => {
  await dir.remove();
});

async function snapshotAt(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  // Only the presence of `_metadata` counts here; which one is intact is decided when the JobMaster thread starts.
  await writeFile(join(path, '_metadata'), 'x');
  return path;
}

function record(checkpointDir: string, retained: JobRecord['retained']): JobRecord {
  return {
    version: 1,
    jobId: JOB,
    name: 'job',
    submit: { jobFile: '/job.ts', programArgs: [] },
    config: { 'execution.checkpointing.dir': checkpointDir },
    state: 'RUNNING',
    startTime: 0,
    endTime: -1,
    lastModification: 0,
    timestamps: {},
    restarts: 0,
    retained,
    nextCheckpointId: 1,
    checkpointCounts: { completed: 0, failed: 0 },
    checkpointHistory: [],
    latestSavepoint: null,
    latestFailed: null,
    restored: null,
  };
}

describe('recoverCheckpoints', () => {
  it('keeps a claimed snapshot outside the checkpoint directory while its _metadata exists', async () => {
    const chk = join(dir.path, 'kept', 'chk');
    const claimed = await snapshotAt(join(dir.path, 'kept', 'savepoints', 'savepoint-abcdef-000000000000'));
    await snapshotAt(join(chk, JOB, 'chk-8'));
    const r = record(chk, [{ id: toCheckpointId(7), location: claimed, completedAt: 1 }]);
    await recoverCheckpoints(r, {});
    expect(r.retained.map((c) => [c.id, c.location])).toEqual([
      [7, claimed],
      [8, join(chk, JOB, 'chk-8')],
    ]);
    expect(r.nextCheckpointId).toBe(9);
  });

  it('never hands out again the id of a checkpoint a dead JobManager left without _metadata', async () => {
    const chk = join(dir.path, 'started', 'chk');
    await snapshotAt(join(chk, JOB, 'chk-8'));
    await mkdir(join(chk, JOB, 'chk-9'), { recursive: true });
    await writeFile(join(chk, JOB, 'chk-9', 'c8d70642d424-0-abc.tsfs'), 'half-written');
    const r = record(chk, []);
    await recoverCheckpoints(r, {});
    expect(r.retained.map((c) => c.id)).toEqual([8]);
    expect(r.nextCheckpointId).toBe(10);
  });

  it('forgets a claimed snapshot that was deleted (subsumed) after the record was written', async () => {
    const chk = join(dir.path, 'gone', 'chk');
    await snapshotAt(join(chk, JOB, 'chk-9'));
    const r = record(chk, [{ id: toCheckpointId(7), location: join(dir.path, 'gone', 'savepoint-deleted'), completedAt: 1 }]);
    await recoverCheckpoints(r, {});
    expect(r.retained.map((c) => c.id)).toEqual([9]);
  });
});
