import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCopyTeeStore, RECORD_SUFFIX } from './local-copy-tee.ts';
import { LocalFirstStore } from './local-first-store.ts';
import { LocalObjectStore } from './local-store.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsflink-local-copy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY = 'op-0-abc.tsfs';

async function writeThroughTee(bytes: Uint8Array, chunks = 3): Promise<{ remote: LocalObjectStore; copies: string; logged: string[] }> {
  const remote = new LocalObjectStore(join(dir, 'remote'));
  const copies = join(dir, 'local', 'job', 'chk-1');
  const logged: string[] = [];
  const writer = await new LocalCopyTeeStore(remote, copies, (l) => void logged.push(l)).createWriter(KEY);
  const step = Math.max(1, Math.ceil(bytes.length / chunks));
  for (let at = 0; at < bytes.length; at += step) await writer.write(bytes.subarray(at, at + step));
  await writer.close();
  return { remote, copies, logged };
}

describe('local copies', () => {
  it('the tee writes the remote object byte for byte and a copy read back locally, any content and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.integer({ min: 1, max: 7 }), async (bytes, chunks) => {
        const { remote, copies, logged } = await writeThroughTee(bytes, chunks);
        expect(await remote.get(KEY)).toEqual(bytes);
        const store = new LocalFirstStore(remote, copies, new Map([[KEY, bytes.length]]), (l) => void logged.push(l));
        expect(await store.getRange(KEY, 1, 100)).toEqual(bytes.subarray(1, 101));
        expect(await store.get(KEY)).toEqual(bytes);
        expect(store.reads).toEqual({ local: 2, remote: 0 });
        expect(logged).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it('reads remotely, with one log line, a copy of another size than _metadata records or one whose record names another object', async () => {
    const bytes = new Uint8Array(500).map((_, i) => i % 251);
    const { remote, copies } = await writeThroughTee(bytes);
    const logged: string[] = [];
    const wrongSize = new LocalFirstStore(remote, copies, new Map([[KEY, 499]]), (l) => void logged.push(l));
    // The remote object is what it is: the read says what the store holds.
    expect((await wrongSize.get(KEY)).length).toBe(500);
    expect(wrongSize.reads).toEqual({ local: 0, remote: 1 });
    expect(logged).toEqual([expect.stringMatching(/not using the local copy .* \(it recorded 500 bytes, _metadata says 499\)/)]);

    await writeThroughTee(bytes); // the copy was dropped with its report: a fresh one
    const record = join(copies, `${KEY}${RECORD_SUFFIX}`);
    writeFileSync(record, readFileSync(record, 'utf8').replace('remote', 'elsewhere'));
    const otherObject = new LocalFirstStore(remote, copies, new Map([[KEY, 500]]), (l) => void logged.push(l));
    expect(await otherObject.get(KEY)).toEqual(bytes);
    expect(otherObject.reads).toEqual({ local: 0, remote: 1 });
    expect(logged[1]).toMatch(/it copies .*elsewhere/);
  });

  it('says a damaged copy once however many readers of one restore meet it (the slot threads of a TaskManager, each with its store), and drops the copy', async () => {
    const bytes = new Uint8Array(5000).map((_, i) => i % 253);
    const { remote, copies } = await writeThroughTee(bytes);
    const copy = join(copies, KEY);
    const damaged = readFileSync(copy);
    damaged[2500] = damaged[2500]! ^ 0x40;
    writeFileSync(copy, damaged);
    const logged: string[] = [];
    // Union and broadcast state: every subtask reads every file, each slot thread through its own store.
    const slots = Array.from({ length: 3 }, () => new LocalFirstStore(remote, copies, new Map([[KEY, 5000]]), (l) => void logged.push(l)));
    const read = await Promise.all(slots.map((s) => s.get(KEY)));
    for (const r of read) expect(r).toEqual(bytes);
    expect(slots.map((s) => s.reads)).toEqual(slots.map(() => ({ local: 0, remote: 1 })));
    expect(logged).toEqual([expect.stringMatching(/^local recovery: not using the local copy .* \(CRC-32 [0-9a-f]+ differs from the recorded [0-9a-f]+\); reading /)]);
    // Gone, so that a reader after these finds no copy and reads remotely without a word.
    expect(existsSync(copy)).toBe(false);
    expect(existsSync(`${copy}${RECORD_SUFFIX}`)).toBe(false);
    const later = new LocalFirstStore(remote, copies, new Map([[KEY, 5000]]), (l) => void logged.push(l));
    expect(await later.get(KEY)).toEqual(bytes);
    expect(logged).toHaveLength(1);
  });

  it('ranges of a copy are read as they are, for the reader\'s checksums to judge: distrustCopy gives the copy up (said once among the slot threads\' stores) and the store reads the storage', async () => {
    const bytes = new Uint8Array(5000).map((_, i) => i % 253);
    const { remote, copies } = await writeThroughTee(bytes);
    const copy = join(copies, KEY);
    const damaged = readFileSync(copy);
    damaged[2500] = damaged[2500]! ^ 0x40;
    writeFileSync(copy, damaged);
    const logged: string[] = [];
    const [a, b] = Array.from({ length: 2 }, () => new LocalFirstStore(remote, copies, new Map([[KEY, 5000]]), (l) => void logged.push(l)));
    // No byte of the copy is read before the reader asks for it.
    expect(a!.copyBytesRead).toBe(0);
    expect(await a!.getRange(KEY, 2000, 1000)).toEqual(new Uint8Array(damaged.subarray(2000, 3000)));
    expect(await b!.getRange(KEY, 0, 1000)).toEqual(bytes.subarray(0, 1000));
    expect([a!.copyBytesRead, b!.copyBytesRead]).toEqual([1000, 1000]);
    // A key read from the storage alone is not the copy's to answer for.
    await remote.publish('other.tsfs', new Uint8Array([1]));
    expect(await a!.distrustCopy('other.tsfs', 'x')).toBeUndefined();

    expect(await a!.distrustCopy(KEY, 'frame checksum mismatch at offset 2400')).toBe(a);
    expect(await a!.getRange(KEY, 2000, 1000)).toEqual(bytes.subarray(2000, 3000));
    expect(a!.reads).toEqual({ local: 1, remote: 1 });
    expect(logged).toEqual([`local recovery: not using the local copy ${copy} (frame checksum mismatch at offset 2400); reading ${remote.describe(KEY)}`]);
    expect(existsSync(copy)).toBe(false);
    // The other slot's store had the copy in use: it reads the storage now, without a word.
    expect(await b!.getRange(KEY, 1000, 1000)).toEqual(bytes.subarray(1000, 2000));
    expect(await b!.distrustCopy(KEY, 'frame checksum mismatch at offset 2400')).toBe(b);
    expect(logged).toHaveLength(1);
  });

  it('a quiet store (the check of a restore point) reads remotely and says nothing, leaving the copy for the restore to report', async () => {
    const bytes = new Uint8Array(500).map((_, i) => i % 251);
    const { remote, copies } = await writeThroughTee(bytes);
    const logged: string[] = [];
    const quiet = new LocalFirstStore(remote, copies, new Map([[KEY, 499]]), (l) => void logged.push(l), undefined, undefined, false);
    expect((await quiet.get(KEY)).length).toBe(500);
    expect(logged).toEqual([]);
    expect(existsSync(join(copies, `${KEY}${RECORD_SUFFIX}`))).toBe(true);
    const restore = new LocalFirstStore(remote, copies, new Map([[KEY, 499]]), (l) => void logged.push(l));
    await restore.get(KEY);
    expect(logged).toEqual([expect.stringMatching(/it recorded 500 bytes, _metadata says 499/)]);
  });

  it('reads remotely without a word when there is no copy, and never for a key _metadata does not list', async () => {
    const remote = new LocalObjectStore(join(dir, 'remote'));
    await remote.publish(KEY, new Uint8Array([1, 2, 3]));
    await remote.publish('_metadata', new Uint8Array([9]));
    const logged: string[] = [];
    const store = new LocalFirstStore(remote, join(dir, 'none'), new Map([[KEY, 3]]), (l) => void logged.push(l));
    expect(await store.get(KEY)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.get('_metadata')).toEqual(new Uint8Array([9]));
    expect(store.reads).toEqual({ local: 0, remote: 2 });
    expect(logged).toEqual([]);
  });

  it('an aborted write leaves no copy; a local directory that cannot be made leaves the remote write as it was', async () => {
    const remote = new LocalObjectStore(join(dir, 'remote'));
    const aborted = await new LocalCopyTeeStore(remote, join(dir, 'copies')).createWriter(KEY);
    await aborted.write(new Uint8Array([1]));
    await aborted.abort();
    expect(existsSync(join(dir, 'copies', `${KEY}.tmp`))).toBe(false);
    expect(existsSync(join(dir, 'copies', KEY))).toBe(false);

    writeFileSync(join(dir, 'a-file'), 'x');
    const logged: string[] = [];
    const writer = await new LocalCopyTeeStore(remote, join(dir, 'a-file', 'chk-1'), (l) => void logged.push(l)).createWriter(KEY);
    await writer.write(new Uint8Array([4, 5]));
    await writer.close();
    expect(await remote.get(KEY)).toEqual(new Uint8Array([4, 5]));
    expect(logged).toEqual([expect.stringMatching(/^local recovery: cannot keep a local copy of .* the checkpoint is written remotely only$/)]);
  });

  it('reads shared files local-first through the checkpoint root (storeAbove(2)), those it was told of only', async () => {
    const remoteRoot = new LocalObjectStore(join(dir, 'remote'));
    const localRoot = join(dir, 'local');
    const shared = 'job/shared/op-0-chk1-a0-ab.tsfs';
    const bytes = new Uint8Array(300).map((_, i) => i % 7);
    const writer = await new LocalCopyTeeStore(remoteRoot, localRoot).createWriter(shared);
    await writer.write(bytes);
    await writer.close();
    expect(existsSync(join(localRoot, shared))).toBe(true);
    await remoteRoot.publish('job/shared/other.tsfs', new Uint8Array([1]));
    const logged: string[] = [];
    const chk = new LocalObjectStore(join(dir, 'remote', 'job', 'chk-2'));
    const store = new LocalFirstStore(chk, join(localRoot, 'job', 'chk-2'), new Map(), (l) => void logged.push(l), undefined, { dir: localRoot, expected: new Map([[shared, 300]]) });
    const root = store.storeAbove(2) as LocalFirstStore;
    expect(store.storeAbove(2)).toBe(root); // one store: each copy checked once
    expect(await root.getRange(shared, 10, 20)).toEqual(bytes.subarray(10, 30));
    expect(await root.get('job/shared/other.tsfs')).toEqual(new Uint8Array([1]));
    expect(root.reads).toEqual({ local: 1, remote: 1 });
    expect(logged).toEqual([]);
    // Without shared files to read locally, the root is the remote one.
    expect(new LocalFirstStore(chk, join(localRoot, 'job', 'chk-2'), new Map()).storeAbove(2)).toBeInstanceOf(LocalObjectStore);
  });
});
