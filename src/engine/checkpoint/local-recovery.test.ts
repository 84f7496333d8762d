import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSnapshot } from '../../open-snapshot.ts';
import { verifySnapshot } from '../../format/verify-snapshot.ts';
import { writeSnapshot } from '../../format/write-snapshot.ts';
import { LocalCopyTeeStore } from '../../storage/local-copy-tee.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { smallSnapshot } from '../../../test/support/small-snapshot.ts';
import { chooseRestoreCheckpoint } from './choose-restore-checkpoint.ts';
import { localCheckpointDir, localRecoveryOf, readLocalFirst } from './local-recovery.ts';

const JOB = 'abcdefabcdefabcdefabcdefabcdef01';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsflink-local-recovery-unit-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('a restore with local recovery', () => {
  it('logs a damaged local copy once: the restore that reads it says so, the check of the restore point before it does not', async () => {
    const local = localRecoveryOf({ localBackup: true, localRootDir: join(dir, 'local') }, JOB)!;
    const location = join(dir, 'checkpoints', JOB, 'chk-4');
    // Checkpoint 4 written as a subtask writes it: data files to the checkpoint storage and to local copies.
    const snapshot = smallSnapshot();
    await writeSnapshot(new LocalCopyTeeStore(new LocalObjectStore(location), localCheckpointDir(local, 4)), { ...snapshot, info: { ...snapshot.info, kind: 'checkpoint', jobId: JOB, checkpointId: 4 } });
    const copies = readdirSync(localCheckpointDir(local, 4)).filter((f) => f.endsWith('.tsfs'));
    expect(copies.length).toBeGreaterThan(1);
    const damaged = join(localCheckpointDir(local, 4), copies[0]!);
    const bytes = readFileSync(damaged);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x40;
    writeFileSync(damaged, bytes);

    const logged: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    // A restart: pick the restore point (verifies it, through the local copies), then restore from it (reads every file).
    const { chosen } = await chooseRestoreCheckpoint([{ id: 4, location }], {}, local);
    expect(chosen?.id).toBe(4);
    const reader = readLocalFirst(await openSnapshot(location), location, local);
    expect((await verifySnapshot(reader.store)).problems).toEqual([]);

    const fallbacks = logged.filter((l) => l.startsWith('local recovery: not using the local copy'));
    expect(fallbacks).toEqual([`local recovery: not using the local copy ${damaged} (${/\(([^)]*)\)/.exec(fallbacks[0] ?? '')?.[1]}); reading ${join(location, copies[0]!)}\n`]);
    expect(fallbacks[0]).toMatch(/CRC-32 [0-9a-f]+ differs from the recorded [0-9a-f]+/);
  });
});
