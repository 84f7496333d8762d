/**
 * Shared files deleted where no registry decides: with a claimed snapshot of another checkpoint
 * root, and when a job ended while its worker (and its registry) was lost. On a copy of the
 * version 3 fixture, whose chk-2 and chk-3 refer to chk-1's files.
 */
import { cp, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../../test/support/run-flink.ts';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { openStore } from '../../storage/open-store.ts';
import { deleteSnapshotWithSharedFiles, sweepSharedFiles } from './shared-state-sweep.ts';

const JOB = '3c0ffee0000000000000000000000003';
const FIXTURE = join(ROOT, 'fixtures', 'savepoints', 'v3', 'incremental');
const dirs: Awaited<ReturnType<typeof tempDir>>[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await d.remove();
});

async function copyOfFixture(): Promise<string> {
  const dir = await tempDir('tsflink-sweep-');
  dirs.push(dir);
  await cp(FIXTURE, dir.path, { recursive: true });
  return dir.path;
}

async function sharedOf(location: string): Promise<string[]> {
  const reader = await SnapshotReader.open(await openStore(location));
  return reader.metadata.files.filter((f) => f.shared === true).map((f) => f.path).sort();
}

async function listing(root: string): Promise<string[]> {
  const dir = join(root, JOB, 'shared');
  return existsSync(dir) ? (await readdir(dir)).map((f) => `${JOB}/shared/${f}`).sort() : [];
}

describe('shared files outside a registry', () => {
  it('a snapshot deleted with its shared files takes exactly the files its _metadata lists', async () => {
    const root = await copyOfFixture();
    const chk3 = join(root, JOB, 'chk-3');
    const referred = await sharedOf(chk3);
    const before = await listing(root);
    expect(referred.length).toBeGreaterThan(1);
    await deleteSnapshotWithSharedFiles(chk3);
    expect(existsSync(chk3)).toBe(false);
    expect(await listing(root)).toEqual(before.filter((f) => !referred.includes(f)));
    // Deleting again, or a directory with no snapshot, is no error.
    await deleteSnapshotWithSharedFiles(chk3);
  });

  it('after a job ended, keeps exactly the shared files the kept checkpoints refer to, and none when none is kept', async () => {
    const root = await copyOfFixture();
    const chk1 = join(root, JOB, 'chk-1');
    const all = await listing(root);
    const needed = await sharedOf(chk1);
    expect(needed.length).toBeLessThan(all.length);
    const deleted = await sweepSharedFiles(root, JOB, [chk1]);
    expect(deleted.sort()).toEqual(all.filter((f) => !needed.includes(f)));
    expect(await listing(root)).toEqual(needed);
    expect(await sweepSharedFiles(root, JOB, [])).toEqual(needed);
    expect(await listing(root)).toEqual([]);
  });

  it('deletes nothing when a kept checkpoint cannot be read', async () => {
    const root = await copyOfFixture();
    const all = await listing(root);
    await expect(sweepSharedFiles(root, JOB, [join(root, JOB, 'chk-9')])).rejects.toThrow(/not a snapshot/);
    expect(await listing(root)).toEqual(all);
  });
});
