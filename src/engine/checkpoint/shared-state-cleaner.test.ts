import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { isSharedStatePath, SharedStateCleaner } from './shared-state-cleaner.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsflink-shared-cleaner-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function put(key: string): void {
  mkdirSync(join(root, key, '..'), { recursive: true });
  writeFileSync(join(root, key), 'x');
}

function cleaner(): { cleaner: SharedStateCleaner; logged: string[] } {
  const logged: string[] = [];
  return { cleaner: new SharedStateCleaner(new LocalObjectStore(root), (line) => void logged.push(line)), logged };
}

describe('SharedStateCleaner', () => {
  it('deletes released files, and a missing one is fine', async () => {
    put('job/shared/a.tsfs');
    put('job/shared/b.tsfs');
    put('job/chk-1/_metadata');
    const { cleaner: c, logged } = cleaner();
    await c.release(['job/shared/a.tsfs', 'job/shared/gone.tsfs', 'job/shared/a.tsfs']);
    expect(existsSync(join(root, 'job/shared/a.tsfs'))).toBe(false);
    expect(existsSync(join(root, 'job/shared/b.tsfs'))).toBe(true);
    expect(logged).toEqual([]);
    expect(c.failed).toEqual([]);
    // The last file of the directory takes the emptied directory with it (LocalObjectStore prunes).
    await c.release(['job/shared/b.tsfs']);
    expect(existsSync(join(root, 'job/shared'))).toBe(false);
    expect(existsSync(join(root, 'job/chk-1/_metadata'))).toBe(true);
  });

  it('never deletes anything outside <jobId>/shared/', async () => {
    put('job/chk-1/_metadata');
    const { cleaner: c, logged } = cleaner();
    await c.release(['job/chk-1/_metadata', 'job/shared/../chk-1/_metadata', 'shared/x']);
    expect(existsSync(join(root, 'job/chk-1/_metadata'))).toBe(true);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toBe(`shared state: refusing to delete "job/chk-1/_metadata": not a file under <jobId>/shared/ of the checkpoint directory ${root}`);
    expect(c.failed).toEqual([]);
  });

  it('logs one line per failed delete, never throws, and tries again with the next release', async () => {
    // A directory where the file should be: unlink fails (EISDIR) even for root.
    mkdirSync(join(root, 'job/shared/stuck.tsfs/inside'), { recursive: true });
    put('job/shared/ok.tsfs');
    const { cleaner: c, logged } = cleaner();
    await expect(c.release(['job/shared/stuck.tsfs', 'job/shared/ok.tsfs'])).resolves.toBeUndefined();
    expect(existsSync(join(root, 'job/shared/ok.tsfs'))).toBe(false);
    expect(c.failed).toEqual(['job/shared/stuck.tsfs']);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toBe(`shared state: cannot delete ${join(root, 'job/shared/stuck.tsfs')}: is a directory, not a file; trying again with the next release`);

    rmSync(join(root, 'job/shared/stuck.tsfs'), { recursive: true });
    put('job/shared/stuck.tsfs');
    put('job/shared/next.tsfs');
    await c.release(['job/shared/next.tsfs']);
    expect(existsSync(join(root, 'job/shared/stuck.tsfs'))).toBe(false);
    expect(existsSync(join(root, 'job/shared/next.tsfs'))).toBe(false);
    expect(c.failed).toEqual([]);
    expect(logged).toHaveLength(1);
  });

  it('deletes many at once', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `job/shared/f${i}.tsfs`);
    for (const k of keys) put(k);
    put('job/shared/kept.tsfs');
    const { cleaner: c } = cleaner();
    await c.release(keys);
    expect(keys.filter((k) => existsSync(join(root, k)))).toEqual([]);
    expect(existsSync(join(root, 'job/shared/kept.tsfs'))).toBe(true);
  });

  it.each([
    ['job/shared/a.tsfs', true],
    ['job/shared/sub/a.tsfs', true],
    ['job/shared', false],
    ['job/shared/', false],
    ['job/chk-3/a.tsfs', false],
    ['job/shared/./a', false],
    ['job/shared/../x', false],
    ['/job/shared/a', false],
    ['job\\shared\\a', false],
  ])('isSharedStatePath(%j) is %s', (path, expected) => {
    expect(isSharedStatePath(path)).toBe(expected);
  });
});
