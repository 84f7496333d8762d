import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSnapshot } from '../../open-snapshot.ts';
import { verifySnapshot } from '../../format/verify-snapshot.ts';
import { writeSnapshot } from '../../format/write-snapshot.ts';
import { DATA_HEADER_SIZE, TARGET_FRAME_BYTES } from '../../format/layout.ts';
import type { SnapshotMetadata } from '../../format/model.ts';
import type { SnapshotReader } from '../../format/snapshot-reader.ts';
import { LocalFirstStore } from '../../storage/local-first-store.ts';
import { LocalCopyTeeStore } from '../../storage/local-copy-tee.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { smallSnapshot } from '../../../test/support/small-snapshot.ts';
import { NoIntactCheckpointError, chooseRestoreCheckpoint } from './choose-restore-checkpoint.ts';
import { type LocalRecovery, localCheckpointDir, localFirstStore, localRecoveryOf, readLocalFirst } from './local-recovery.ts';

const JOB = 'abcdefabcdefabcdefabcdefabcdef01';
/** What the reader's checks say of a flipped byte in a data file, as the line that gives up its copy quotes it. */
const DAMAGE_FOUND = /\((frame checksum mismatch|frame length \d+ runs past the end of its block|frame with no items|block checksum mismatch) at offset \d+\)/;
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
    expect(fallbacks[0]).toMatch(DAMAGE_FOUND);
  });

  it('reads each byte of a copy once, the check of the restore point and the restore alike: no pass over the copies besides the checksums of the reader', async () => {
    const { local, location, files } = await bigCheckpoint();
    const total = files.reduce((n, f) => n + f.size, 0);
    // The check of the restore point (verifySnapshot through the local-first store).
    const checked = (await localFirstStore(new LocalObjectStore(location), location, local)) as LocalFirstStore;
    expect((await verifySnapshot(checked)).problems).toEqual([]);
    expect(checked.reads.remote).toBe(0);
    expect(checked.copyBytesRead).toBeGreaterThan(total / 2);
    // A whole-file CRC-32 before the first read made this twice the files' size.
    expect(checked.copyBytesRead).toBeLessThanOrEqual(total + files.length * DATA_HEADER_SIZE);

    const reader = readLocalFirst(await openSnapshot(location), location, local);
    expect(await readAll(reader)).toEqual(BIG_ENTRIES);
    const store = reader.store as LocalFirstStore;
    expect(store.reads.remote).toBe(0);
    expect(store.copyBytesRead).toBeLessThanOrEqual(total + files.length * DATA_HEADER_SIZE);
  });

  it('a copy damaged in a later frame of a block: the frames before it are used, the rest of the block is read from the storage, the state is whole, one line says so', async () => {
    const { local, location, metadata } = await bigCheckpoint();
    const block = metadata.operators[0]!.keyedStates[0]!.blocks.find((b) => b.length > 2 * FRAME_BYTES)!;
    const file = metadata.files[block.file]!.path;
    const copy = join(localCheckpointDir(local, 4), file);
    const bytes = readFileSync(copy);
    const at = block.offset + block.length - 100; // in the block's last frame
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(copy, bytes);

    const logged: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    const { chosen } = await chooseRestoreCheckpoint([{ id: 4, location }], {}, local);
    expect(chosen?.id).toBe(4);
    expect(logged).toEqual([]);
    const reader = readLocalFirst(await openSnapshot(location), location, local);
    expect(await readAll(reader)).toEqual(BIG_ENTRIES);
    const store = reader.store as LocalFirstStore;
    expect(store.reads.remote).toBeGreaterThan(0);
    expect(store.copyBytesRead).toBeGreaterThan(block.offset + FRAME_BYTES); // its first frame came from the copy
    expect(logged).toEqual([expect.stringMatching(new RegExp(`^local recovery: not using the local copy ${copy} \\(frame checksum mismatch at offset \\d+\\); reading ${join(location, file)}\n$`))]);
    expect(existsSync(copy)).toBe(false);
  });

  it('a copy with a damaged header is read from the storage; a file damaged in the storage too is reported as without local recovery', async () => {
    const { local, location, metadata } = await bigCheckpoint();
    const file = metadata.files[0]!.path;
    const copy = join(localCheckpointDir(local, 4), file);
    const bytes = readFileSync(copy);
    bytes[3] = bytes[3]! ^ 0x01;
    writeFileSync(copy, bytes);
    const logged: string[] = [];
    const reader = readLocalFirst(await openSnapshot(location), location, local);
    const store = reader.store as LocalFirstStore;
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    expect(await readAll(reader)).toEqual(BIG_ENTRIES);
    expect(store.reads.remote).toBeGreaterThan(0);
    expect(logged).toEqual([expect.stringMatching(/\(not a tsflink data file \(wrong magic bytes\) at offset 0\)/)]);

    // Damaged in the storage as well as in its copy: the check of the restore point finds the storage's damage, with its file and offset.
    const again = await bigCheckpoint();
    const block = again.metadata.operators[0]!.keyedStates[0]!.blocks.find((b) => b.length > 2 * FRAME_BYTES)!;
    const path = again.metadata.files[block.file]!.path;
    const at = block.offset + block.length - 100;
    for (const damaged of [join(localCheckpointDir(again.local, 4), path), join(again.location, path)]) {
      const b = readFileSync(damaged);
      b[at] = b[at]! ^ 0x01;
      writeFileSync(damaged, b);
    }
    const failed = await chooseRestoreCheckpoint([{ id: 4, location: again.location }], {}, again.local).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(NoIntactCheckpointError);
    expect((failed as NoIntactCheckpointError).damaged.map((d) => d.problem)).toEqual([expect.stringMatching(new RegExp(`^${join(again.location, path)} at offset \\d+: frame checksum mismatch$`))]);
  });
});

const FRAME_BYTES = TARGET_FRAME_BYTES;
const BIG_ENTRIES = Array.from({ length: 3000 }, (_, i) => [`key-${i}`, `${i}:${'v'.repeat(900)}`] as [string, string]).sort(([a], [b]) => (a < b ? -1 : 1));
let bigCount = 0;

/** A checkpoint of a few megabytes whose blocks span several frames, written through the tee as a subtask writes it (data files to the storage and to local copies). */
async function bigCheckpoint(): Promise<{ local: LocalRecovery; location: string; metadata: SnapshotMetadata; files: readonly { path: string; size: number }[] }> {
  const n = ++bigCount;
  const local = localRecoveryOf({ localBackup: true, localRootDir: join(dir, `local-${n}`) }, JOB)!;
  const location = join(dir, `checkpoints-${n}`, JOB, 'chk-4');
  const metadata = await writeSnapshot(new LocalCopyTeeStore(new LocalObjectStore(location), localCheckpointDir(local, 4)), {
    info: { kind: 'checkpoint', jobId: JOB, jobName: 'big', checkpointId: 4 },
    operators: [{ uid: 'big', parallelism: 2, maxParallelism: 4, keyedStates: [{ name: 'values', kind: 'value', entries: BIG_ENTRIES }] }],
  });
  return { local, location, metadata, files: metadata.files };
}

/** Every entry of the big checkpoint's state, sorted by key. */
async function readAll(reader: SnapshotReader): Promise<[string, string][]> {
  const entries: [string, string][] = [];
  for await (const batch of reader.readKeyed('big', 'values')) batch.keys.forEach((k, i) => entries.push([k as string, batch.values[i] as string]));
  return entries.sort(([a], [b]) => (a < b ? -1 : 1));
}
