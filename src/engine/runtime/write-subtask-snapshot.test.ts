import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { SubtaskAck } from './subtask.ts';
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
