import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { TaskDeclineReason } from '../checkpoint/failure-counter.ts';
import type { CheckpointTarget, SubtaskAck } from './subtask.ts';
import { writeSubtaskSnapshot } from './write-subtask-snapshot.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsflink-write-subtask-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes an empty subtask snapshot (a header-only data file) and returns its ack. */
async function write(savepoint: boolean, localRecovery: { jobDir: string } | undefined): Promise<SubtaskAck> {
  const store = new LocalObjectStore(join(dir, savepoint ? 'savepoint' : 'chk-7'));
  return new Promise<SubtaskAck>((resolve, reject) => {
    void writeSubtaskSnapshot({
      checkpointId: 7,
      target: { checkpointId: 7, savepoint, store },
      chain: { id: 0, headUid: 'counts' },
      subtask: 0,
      captured: [],
      hooks: { acknowledge: resolve, decline: (_, reason) => reject(reason instanceof Error ? reason : new Error(String(reason))) },
      syncMs: 0,
      localRecovery,
    });
  });
}

describe('writeSubtaskSnapshot with local recovery', () => {
  it("keeps a local copy of a checkpoint's data file, identical to the remote one", async () => {
    const jobDir = join(dir, 'local', 'job');
    const ack = await write(false, { jobDir });
    const copy = join(jobDir, 'chk-7', ack.file.path);
    expect(readFileSync(copy)).toEqual(readFileSync(join(dir, 'chk-7', ack.file.path)));
    expect(JSON.parse(readFileSync(`${copy}.local.json`, 'utf8'))).toMatchObject({ size: ack.file.size, location: join(dir, 'chk-7', ack.file.path) });
  });

  it('never copies a savepoint, and without local recovery writes nothing locally', async () => {
    const jobDir = join(dir, 'local', 'job');
    await write(true, { jobDir });
    await write(false, undefined);
    expect(existsSync(join(dir, 'local'))).toBe(false);
  });
});

describe('writeSubtaskSnapshot failing to write', () => {
  /** The decline of a snapshot whose files cannot be written: their directory would lie under a file. */
  async function declined(target: (blocked: string) => CheckpointTarget): Promise<{ reason: unknown; why: TaskDeclineReason | undefined }> {
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, 'not a directory');
    return new Promise((resolve, reject) => {
      void writeSubtaskSnapshot({
        checkpointId: 7,
        target: target(blocked),
        chain: { id: 0, headUid: 'counts' },
        subtask: 0,
        captured: [],
        hooks: { acknowledge: () => reject(new Error('acknowledged')), decline: (_, reason, why) => resolve({ reason, why }) },
        syncMs: 0,
      });
    });
  }

  it("declines with Flink's CHECKPOINT_ASYNC_EXCEPTION (async-failure), not a plain decline, and the write's error", async () => {
    const { reason, why } = await declined((blocked) => ({ checkpointId: 7, savepoint: true, store: new LocalObjectStore(join(blocked, 'savepoint')) }));
    expect(why).toBe('async-failure');
    expect(String(reason)).toContain(join(dir, 'a-file'));
  });

  it('likewise for an incremental checkpoint\'s shared file', async () => {
    const { why } = await declined((blocked) => ({ checkpointId: 7, savepoint: false, store: new LocalObjectStore(join(blocked, 'chk-7')), shared: { store: new LocalObjectStore(blocked), dir: 'job/shared/', full: false } }));
    expect(why).toBe('async-failure');
  });
});
