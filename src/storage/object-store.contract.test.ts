/**
 * The consistency contract of object-store.ts, run against every implementation: a local
 * directory and a real S3 server (s3rver). Backend-specific failure modes follow at the end.
 */
import { mkdtemp, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalError, UserError } from '../errors.ts';
import { startS3Server, setEnv } from '../../test/support/s3-server.ts';
import type { S3TestServer } from '../../test/support/s3-server.ts';
import { LocalObjectStore } from './local-store.ts';
import { ObjectNotFoundError } from './object-store.ts';
import type { ObjectStore } from './object-store.ts';
import { openStore } from './open-store.ts';
import { S3ObjectStore, listingGroups } from './s3-store.ts';
import { copyObject } from './copy-object.ts';

const MiB = 1024 * 1024;
const BUCKET = 'tsflink-test';

interface Harness {
  store: ObjectStore;
  /**
   * s3rver 3.7.1 falls short of S3 in two ways: PutObject rewrites the file in place, so a
   * concurrent GET can see a prefix (S3 swaps objects atomically); and a ranged GET of an empty
   * object announces one byte, sends none and hangs until the keep-alive timeout (S3 answers
   * 416). Those two checks run only where the backend honours them.
   */
  quirks: { inPlaceOverwrite: boolean; rangeOnEmptyHangs: boolean };
  /** Whether anything at all sits under the key, looked up around the store's own checks. */
  rawExists(key: string): Promise<boolean>;
}

let server: S3TestServer;
let localRoot: string;

beforeAll(async () => {
  localRoot = await mkdtemp(join(tmpdir(), 'tsflink-store-'));
  server = await startS3Server();
  await server.createBucket(BUCKET);
});

afterAll(async () => {
  await server?.stop();
  if (localRoot !== undefined) await rm(localRoot, { recursive: true, force: true });
});

const backends: { name: string; make(): Harness }[] = [
  {
    name: 'LocalObjectStore',
    make() {
      const store = new LocalObjectStore(join(localRoot, 'store'));
      const quirks = { inPlaceOverwrite: false, rangeOnEmptyHangs: false };
      return { store, quirks, rawExists: async (key) => existsSync(store.describe(key)) };
    },
  },
  {
    name: 'S3ObjectStore',
    make() {
      const options = { endpoint: server.endpoint, credentials: server.credentials };
      const store = new S3ObjectStore(`s3://${BUCKET}/snapshots`, options);
      const raw = new S3ObjectStore(`s3://${BUCKET}`, options);
      const quirks = { inPlaceOverwrite: true, rangeOnEmptyHangs: true };
      return { store, quirks, rawExists: async (key) => (await raw.stat(`snapshots/${key}`)) !== undefined };
    },
  },
];

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
/** Compares bytes without vitest's element-by-element diff, which crawls on megabytes. */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(`${info.key}:${info.size}`);
  return keys.sort();
}

/** Byte `i` of the large test object: varies within and across chunks, so misplaced data shows. */
const pattern = (i: number): number => (i * 7 + Math.floor(i / MiB) * 13) & 0xff;

describe.each(backends)('$name contract', (backend) => {
  let h: Harness;
  beforeAll(() => {
    h = backend.make();
  });

  it('copies an object without its bytes passing through (a hard link, a server-side copy), and streams it between kinds of store', async () => {
    await h.store.publish('c/src', bytes('copy me'));
    expect(await copyObject(h.store, 'c/src', h.store, 'c/dst/copy')).toBe(backend.name === 'LocalObjectStore' ? 'linked' : 'server-side');
    expect(text(await h.store.get('c/dst/copy'))).toBe('copy me');
    expect(await listKeys(h.store, 'c/dst/')).toEqual(['c/dst/copy:7']);
    const other = backends.find((b) => b.name !== backend.name)!.make().store;
    expect(await copyObject(h.store, 'c/src', other, `c/streamed-from-${backend.name}`)).toBe('streamed');
    expect(text(await other.get(`c/streamed-from-${backend.name}`))).toBe('copy me');
    await expect(copyObject(h.store, 'c/missing', h.store, 'c/x')).rejects.toThrow(ObjectNotFoundError);
    expect(await h.store.stat('c/x')).toBeUndefined();
  });

  it('writes through a writer and reads back after close, not before', async () => {
    const writer = await h.store.createWriter('w/chk-1/data');
    await writer.write(bytes('hello '));
    await writer.write(bytes('world'));
    expect(await h.store.stat('w/chk-1/data')).toBeUndefined();
    expect(await h.rawExists('w/chk-1/data')).toBe(false);
    expect(await listKeys(h.store, 'w/')).toEqual([]);
    await writer.close();
    expect(text(await h.store.get('w/chk-1/data'))).toBe('hello world');
    expect(await h.store.stat('w/chk-1/data')).toEqual({ key: 'w/chk-1/data', size: 11 });
    expect(await listKeys(h.store, 'w/')).toEqual(['w/chk-1/data:11']);
    await writer.abort(); // after a successful close: a no-op, the object stays
    expect(await h.store.stat('w/chk-1/data')).toBeDefined();
  });

  it('leaves nothing behind after abort, also mid-multipart', async () => {
    const small = await h.store.createWriter('a/small');
    await small.write(bytes('partial'));
    await small.abort();
    const large = await h.store.createWriter('a/large');
    const chunk = new Uint8Array(MiB).fill(1);
    for (let i = 0; i < 10; i++) await large.write(chunk); // more than one 8 MiB part
    await large.abort();
    await large.abort(); // idempotent
    for (const key of ['a/small', 'a/large']) {
      expect(await h.rawExists(key)).toBe(false);
      expect(await h.store.stat(key)).toBeUndefined();
    }
    expect(await listKeys(h.store, 'a/')).toEqual([]);
  });

  it('publishes atomically and overwrites', async () => {
    const first = new Uint8Array(3 * MiB).fill(0xaa);
    const second = new Uint8Array(MiB + 1).fill(0xbb);
    await h.store.publish('p/_metadata', first);
    for (let i = 0; i < 4; i++) {
      const payload = i % 2 === 0 ? second : first;
      const publishing = h.store.publish('p/_metadata', payload);
      if (!h.quirks.inPlaceOverwrite) {
        // A reader racing the publish gets one whole payload, never a prefix of one.
        const read = await h.store.get('p/_metadata');
        expect(same(read, first) || same(read, second)).toBe(true);
      }
      await publishing;
      expect(same(await h.store.get('p/_metadata'), payload)).toBe(true);
    }
    await h.store.publish('p/_metadata', bytes('v2'));
    expect(text(await h.store.get('p/_metadata'))).toBe('v2');
    expect(await listKeys(h.store, 'p/')).toEqual(['p/_metadata:2']);
  });

  it('reads ranges, returning fewer bytes only past the end', async () => {
    const data = Uint8Array.from({ length: 100 }, (_, i) => i);
    await h.store.publish('r/obj', data);
    expect(await h.store.getRange('r/obj', 0, 10)).toEqual(data.subarray(0, 10));
    expect(await h.store.getRange('r/obj', 0, 1)).toEqual(data.subarray(0, 1));
    expect(await h.store.getRange('r/obj', 42, 7)).toEqual(data.subarray(42, 49));
    expect(await h.store.getRange('r/obj', 95, 10)).toEqual(data.subarray(95));
    expect((await h.store.getRange('r/obj', 100, 10)).length).toBe(0);
    expect((await h.store.getRange('r/obj', 1000, 10)).length).toBe(0);
    expect((await h.store.getRange('r/obj', 5, 0)).length).toBe(0);
    await h.store.publish('r/empty', new Uint8Array(0));
    if (!h.quirks.rangeOnEmptyHangs) expect((await h.store.getRange('r/empty', 0, 10)).length).toBe(0);
    expect((await h.store.get('r/empty')).length).toBe(0);
  });

  it('reports missing objects', async () => {
    expect(await h.store.stat('m/none')).toBeUndefined();
    await expect(h.store.get('m/none')).rejects.toThrow(ObjectNotFoundError);
    await expect(h.store.get('m/none')).rejects.toThrow(h.store.describe('m/none'));
    await expect(h.store.getRange('m/none', 0, 10)).rejects.toThrow(ObjectNotFoundError);
    await expect(h.store.getRange('m/none', 0, 0)).rejects.toThrow(ObjectNotFoundError);
  });

  it('lists by prefix, nested keys included', async () => {
    for (const key of ['l/a', 'l/b/c', 'l/b/d/e', 'l/bb', 'l2/x']) await h.store.publish(key, bytes(key));
    expect(await listKeys(h.store, 'l/')).toEqual(['l/a:3', 'l/b/c:5', 'l/b/d/e:7', 'l/bb:4']);
    expect(await listKeys(h.store, 'l/b')).toEqual(['l/b/c:5', 'l/b/d/e:7', 'l/bb:4']);
    expect(await listKeys(h.store, 'l/b/')).toEqual(['l/b/c:5', 'l/b/d/e:7']);
    expect(await listKeys(h.store, 'l')).toHaveLength(5);
    expect(await listKeys(h.store, 'nothing/')).toEqual([]);
    expect(await listKeys(h.store, '')).toEqual(expect.arrayContaining(['l/a:3', 'l2/x:4']));
  });

  it('stats many keys at once as stat of each says, where the store can (S3: from listings), nested and missing keys included', async () => {
    for (const key of ['sm/a', 'sm/b/c', 'sm/b/d/e', 'sm2/f']) await h.store.publish(key, bytes(key));
    const keys = ['sm/a', 'sm/b/c', 'sm/b/d/e', 'sm/b/none', 'sm2/f', 'sm3/none', 'sm'];
    const many = await h.store.statMany?.(keys);
    if (many === undefined) return; // the caller stats each key
    for (const key of keys) expect(many.get(key), key).toEqual(await h.store.stat(key));
  });

  it('deletes idempotently', async () => {
    await h.store.publish('d/chk-3/x', bytes('x'));
    await h.store.delete('d/chk-3/x');
    await h.store.delete('d/chk-3/x');
    await h.store.delete('d/never/was');
    expect(await h.store.stat('d/chk-3/x')).toBeUndefined();
    expect(await listKeys(h.store, 'd/')).toEqual([]);
  });

  it('streams a 20 MiB object in 1 MiB chunks and reads it back by ranges', async () => {
    const writer = await h.store.createWriter('big/state');
    const expected = new Uint8Array(20 * MiB);
    for (let i = 0; i < expected.length; i++) expected[i] = pattern(i);
    const chunk = new Uint8Array(MiB); // reused for every write, as the interface allows
    for (let c = 0; c < 20; c++) {
      chunk.set(expected.subarray(c * MiB, (c + 1) * MiB));
      await writer.write(chunk);
    }
    await writer.close();
    expect(await h.store.stat('big/state')).toEqual({ key: 'big/state', size: 20 * MiB });
    const step = 3 * MiB + 12_345; // unaligned to chunks and parts
    for (let offset = 0; offset < 20 * MiB; offset += step) {
      const got = await h.store.getRange('big/state', offset, step);
      expect(got.length).toBe(Math.min(step, 20 * MiB - offset));
      expect(same(got, expected.subarray(offset, offset + step))).toBe(true);
    }
  });
});

describe('LocalObjectStore specifics', () => {
  it('rejects keys that could escape the root', async () => {
    const store = new LocalObjectStore(join(localRoot, 'keys'));
    for (const key of ['../x', '/abs', 'a//b', 'a\\b', 'a/./b', 'a/../b', '', 'a/', 'C:/x']) {
      expect(() => store.describe(key), key).toThrow(InternalError);
      await expect(store.get(key), key).rejects.toThrow(InternalError);
      await expect(store.publish(key, bytes('x')), key).rejects.toThrow(InternalError);
      await expect(store.createWriter(key), key).rejects.toThrow(InternalError);
      await expect(store.delete(key), key).rejects.toThrow(InternalError);
    }
    expect(existsSync(join(localRoot, 'x'))).toBe(false);
  });

  it('keeps temporary files out of the key and out of list, and prunes empty directories', async () => {
    const store = new LocalObjectStore(join(localRoot, 'temp'));
    const writer = await store.createWriter('chk-1/part');
    await writer.write(bytes('abc'));
    const entries = await readdir(dirname(store.describe('chk-1/part')));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^part\.inprogress-[0-9a-f]+$/);
    expect(await listKeys(store, '')).toEqual([]);
    await writer.close();
    expect(await readdir(dirname(store.describe('chk-1/part')))).toEqual(['part']);
    const aborted = await store.createWriter('chk-1/other');
    await aborted.write(bytes('abc'));
    await aborted.abort();
    expect(await readdir(dirname(store.describe('chk-1/part')))).toEqual(['part']);
    await store.delete('chk-1/part');
    expect(existsSync(join(localRoot, 'temp', 'chk-1'))).toBe(false);
  });

  it('names the root when it is a file', async () => {
    const file = join(localRoot, 'a-file');
    await writeFile(file, 'not a directory');
    const store = new LocalObjectStore(file);
    const message = `${file}: is a file, not a directory (give a directory, or a path that does not exist yet, as the location)`;
    await expect(store.publish('k', bytes('x'))).rejects.toThrow(new UserError(message));
    await expect(store.get('k')).rejects.toThrow(`${file}: is a file`);
    await expect(listKeys(store, '')).rejects.toThrow(`${file}: is a file`);
  });

  it('reports permission problems as UserError', async () => {
    const dir = join(localRoot, 'locked');
    const store = new LocalObjectStore(dir);
    await store.publish('k', bytes('x'));
    await chmod(dir, 0o500);
    // Root ignores permissions (and CI runs as root): act as 'nobody' for the write itself.
    const asRoot = process.geteuid?.() === 0;
    if (asRoot) process.seteuid!(65534);
    try {
      await expect(store.publish('k2', bytes('x'))).rejects.toThrow(/permission denied/);
    } finally {
      if (asRoot) process.seteuid!(0);
      await chmod(dir, 0o700);
    }
  });
});

describe('S3ObjectStore specifics', () => {
  it('lists for statMany each directory once, below the highest one that holds a key', () => {
    expect(Object.fromEntries(listingGroups(['x/shared/a', 'x/shared/b', 'y/shared/c', 'x/shared/sub/d']))).toEqual({ 'x/shared': ['x/shared/a', 'x/shared/b', 'x/shared/sub/d'], 'y/shared': ['y/shared/c'] });
    expect(Object.fromEntries(listingGroups(['op-0.tsfs', 'shared/op-1.tsfs']))).toEqual({ '': ['op-0.tsfs', 'shared/op-1.tsfs'] });
    // 'x/sharedy' is no directory below 'x/shared'.
    expect(Object.fromEntries(listingGroups(['x/shared/a', 'x/sharedy/b']))).toEqual({ 'x/shared': ['x/shared/a'], 'x/sharedy': ['x/sharedy/b'] });
  });

  it('names a missing bucket', async () => {
    const options = { endpoint: server.endpoint, credentials: server.credentials };
    const store = new S3ObjectStore('s3://no-such-bucket/x', options);
    const message =
      's3://no-such-bucket: the bucket does not exist (create it, or check s3.endpoint / AWS_ENDPOINT_URL)';
    const writeAndClose = async (): Promise<void> => {
      const writer = await store.createWriter('k');
      await writer.write(bytes('x'));
      await writer.close();
    };
    const writeMuch = async (): Promise<void> => {
      // More than a part: the failure must surface from write(), not leave it waiting for drain.
      const writer = await store.createWriter('big');
      try {
        for (let i = 0; i < 40; i++) await writer.write(new Uint8Array(MiB));
        await writer.close();
      } finally {
        await writer.abort();
      }
    };
    const attempts: Promise<unknown>[] = [store.stat('k'), store.get('k'), store.getRange('k', 0, 4)];
    attempts.push(store.publish('k', bytes('x')), listKeys(store, ''), writeAndClose(), writeMuch());
    const errors = await Promise.all(attempts.map((a) => a.then(() => undefined, (e: unknown) => e)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(UserError);
      expect(err).not.toBeInstanceOf(ObjectNotFoundError);
      expect((err as Error).message).toBe(message);
    }
  });

  it('fails fast with the endpoint named when nothing listens there', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const endpoint = `http://127.0.0.1:${port}`;
    const store = new S3ObjectStore(`s3://${BUCKET}/x`, { endpoint, credentials: server.credentials });
    const started = Date.now();
    await expect(store.stat('k')).rejects.toThrow(new RegExp(`cannot reach ${endpoint} \\(ECONNREFUSED`));
    const writer = await store.createWriter('k');
    await writer.write(bytes('x'));
    await expect(writer.close()).rejects.toThrow(UserError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('takes endpoint and credentials from the environment through openStore', async () => {
    const restore = setEnv({ ...server.env, AWS_ENDPOINT_URL: undefined });
    try {
      const store = await openStore(`s3://${BUCKET}/env/`);
      expect(store.location).toBe(`s3://${BUCKET}/env`);
      await store.publish('k', bytes('via env'));
      expect(text(await store.get('k'))).toBe('via env');
    } finally {
      restore();
    }
  });
});

describe('openStore', () => {
  it('picks the store from the location', async () => {
    expect(await openStore('s3://bucket/a/b/')).toBeInstanceOf(S3ObjectStore);
    expect((await openStore('s3a://bucket')).location).toBe('s3://bucket');
    expect((await openStore('file:///tmp/x/')).location).toBe('/tmp/x');
    expect((await openStore('rel/dir')).location).toBe(join(process.cwd(), 'rel/dir'));
    for (const bad of ['s3://', 's3:///prefix', 's3:bucket', 'hdfs://nn/x', '']) {
      await expect(openStore(bad), bad).rejects.toThrow(UserError);
    }
  });
});
