import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSharedCopies } from './local-shared-copies.ts';
import { sharedFileMarker } from './shared-paths.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsflink-local-shared-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const OWNER = 'a1b2c3d4e5f6-0';
const name = (id: number, owner = OWNER): string => `${owner}${sharedFileMarker(id)}0-x.tsfs`;
const path = (id: number, owner = OWNER): string => `job/shared/${name(id, owner)}`;

/** A finished copy: the file and its record. */
function copy(file: string, record = true): void {
  mkdirSync(join(root, 'job', 'shared'), { recursive: true });
  writeFileSync(join(root, file), 'x');
  if (record) writeFileSync(join(root, `${file}.local.json`), '{}');
}

const listing = (): string[] => readdirSync(join(root, 'job', 'shared')).sort();

describe('a subtask keeping its local copies of shared files', () => {
  it('on confirmation deletes its own copies (file and record) nothing refers to any more, and nothing else', async () => {
    for (const id of [1, 2, 3]) copy(path(id));
    copy(path(1, 'ffffffffffff-0')); // another operator's
    copy(path(4), false); // a write under way: no record yet
    const copies = new LocalSharedCopies(root, 'job', OWNER, () => undefined);
    copies.written(1, [path(1)]);
    copies.written(2, [path(2), path(1)]);
    copies.written(3, [path(3), path(1)]);
    await copies.confirmed(2);
    expect(listing()).toEqual([name(1, 'ffffffffffff-0'), `${name(1, 'ffffffffffff-0')}.local.json`, name(1), `${name(1)}.local.json`, name(2), `${name(2)}.local.json`, name(3), `${name(3)}.local.json`, name(4)].sort());
    await copies.confirmed(3);
    expect(listing()).not.toContain(name(2));
    expect(listing()).not.toContain(`${name(2)}.local.json`);
    expect(listing()).toContain(name(1));
    expect(listing()).toContain(name(4));
  });

  it('keeps what a write under way builds on, until it is written or failed', async () => {
    copy(path(1));
    copy(path(2));
    const copies = new LocalSharedCopies(root, 'job', OWNER, () => undefined);
    copies.written(2, [path(2)]);
    copies.building(3, [path(1)]);
    await copies.confirmed(2);
    expect(existsSync(join(root, path(1)))).toBe(true);
    copies.failed(3);
    await copies.confirmed(2);
    expect(existsSync(join(root, path(1)))).toBe(false);
  });

  it('with nothing copied yet, or a confirmation it knows nothing of, deletes nothing', async () => {
    const copies = new LocalSharedCopies(root, 'job', OWNER, () => undefined);
    await copies.confirmed(1);
    copy(path(1));
    await copies.confirmed(5);
    expect(existsSync(join(root, path(1)))).toBe(true);
  });
});
