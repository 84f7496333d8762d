/**
 * The file tools on s3:// paths, through the real binary against a real S3 server (s3rver on a
 * free localhost port): a snapshot written to S3 inspects, verifies and diffs like a local one,
 * and a copy moved between disk and S3 is the same snapshot.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { S3ObjectStore } from '../src/storage/s3-store.ts';
import { startCountingProxy } from './support/counting-proxy.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { type S3TestServer, startS3Server } from './support/s3-server.ts';
import { smallSnapshot } from './support/small-snapshot.ts';
import { tempDir } from './support/temp-dir.ts';

let server: S3TestServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let local: string;
const remote = 's3://snapshots/jobs/savepoint-abcdef-000000000001';

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('snapshots');
  dir = await tempDir();
  local = join(dir.path, 'savepoint-abcdef-000000000001');
  await writeSnapshot(new LocalObjectStore(local), smallSnapshot());
  await writeSnapshot(new S3ObjectStore(remote, { endpoint: server.endpoint, credentials: server.credentials }), smallSnapshot());
});
afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

const s3 = (args: string[]): ReturnType<typeof runFlink> => runFlink(args, { env: { ...server.env } });

describe('flink on s3:// paths', () => {
  it('inspects a snapshot in S3 exactly as the same snapshot on disk', async () => {
    const [a, b] = await Promise.all([s3(['inspect', remote, '--json']), s3(['inspect', local, '--json'])]);
    expect(a.code).toBe(0);
    const strip = (text: string): unknown => ({ ...JSON.parse(text), location: null, totalBytes: null, metadataBytes: null, durations: null });
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
    expect(JSON.parse(a.stdout).location).toBe(remote);
  });

  it('reads one key from S3, accepts the _metadata path and -D s3.endpoint', async () => {
    const env = { ...server.env, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_S3: '' };
    const result = await runFlink(['inspect', `${remote}/_metadata`, '--key', '"c"', '-D', `s3.endpoint=${server.endpoint}`], { env });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('{"operator":"counts","state":"count","keyGroup":' + JSON.parse(result.stdout).keyGroup + ',"key":"c","value":2}\n');
  });

  it('verifies, and diffs S3 against disk as equal (exit 0)', async () => {
    const verify = await s3(['verify', remote]);
    expect(verify.stdout).toMatch(/^OK s3:\/\/snapshots\/jobs\/savepoint-abcdef-000000000001: savepoint in format version 1/);
    expect(verify.code).toBe(0);
    const diff = await s3(['diff', remote, local, '--entries']);
    expect(diff.stdout).toMatch(/Snapshots hold the same operators and states\.\n$/);
    expect(diff.code).toBe(0);
  });

  it('rekeys from S3 to S3, and refuses an S3 target that holds anything', async () => {
    const target = 's3://snapshots/rekeyed/savepoint-abcdef-000000000002';
    const rekey = await s3(['rekey', remote, target, '--max-parallelism', '16']);
    expect(rekey.stderr).toBe('');
    expect(rekey.stdout).toBe(`Rekeyed ${remote}: max parallelism 4, 8 -> 16; 8 keyed entries, 4 operator-state elements, 2 operators.\nSavepoint completed and verified. Path: ${target}\n`);
    expect(rekey.code).toBe(0);
    const diff = await s3(['diff', local, target, '--entries']);
    expect(diff.stdout).toMatch(/; entries differ in 0 state\(s\)\.\n$/);
    const again = await s3(['rekey', local, target, '--max-parallelism', '16']);
    expect(again.stderr).toBe(`${target}: already exists; rekey never overwrites: give a new target directory\n`);
    expect(again.code).toBe(2);
  });

  it('names a missing bucket in one line, exit 2', async () => {
    const result = await s3(['inspect', 's3://no-such-bucket/sp']);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toMatch(/^s3:\/\/no-such-bucket.*: the bucket does not exist \(create it, or check s3\.endpoint \/ AWS_ENDPOINT_URL\)$/);
    expect(result.code).toBe(2);
  });

  it('says an S3 prefix without _metadata is not a snapshot, naming the snapshot below it', async () => {
    const result = await s3(['inspect', 's3://snapshots/jobs']);
    expect(result.stderr.trim()).toBe('s3://snapshots/jobs: not a snapshot (no _metadata) but a directory holding one snapshot, s3://snapshots/jobs/savepoint-abcdef-000000000001 (give that)');
    expect(result.code).toBe(2);
    const empty = await s3(['inspect', 's3://snapshots/nothing-here']);
    expect(empty.stderr.trim()).toBe('s3://snapshots/nothing-here: not a snapshot (no _metadata; an unfinished snapshot has none either)');
    expect(empty.code).toBe(2);
  });
});

describe('flink inspect and verify on S3, counting requests', () => {
  const JOB = '3c0ffee0000000000000000000000003';
  const FIXTURE = join(ROOT, 'fixtures', 'savepoints', 'v3', 'incremental');

  /** Uploads the incremental fixture (chk-3 refers to 8 shared files) under `root`, through `store`'s bucket. */
  async function upload(root: string): Promise<void> {
    const store = new S3ObjectStore(root, { endpoint: server.endpoint, credentials: server.credentials });
    for (const entry of await readdir(join(FIXTURE, JOB), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      await store.publish(path.slice(FIXTURE.length + 1), await readFile(path));
    }
  }

  it('looks up the data files of a checkpoint without a HEAD per file, and still names a missing or resized one exactly as on disk', async () => {
    const root = 's3://snapshots/counted';
    await upload(root);
    const proxy = await startCountingProxy(server.endpoint);
    try {
      const inspect = async (location: string): Promise<{ result: Awaited<ReturnType<typeof runFlink>>; heads: number }> => {
        const from = proxy.requests.length;
        const result = await runFlink(['inspect', location], { env: { ...server.env, AWS_ENDPOINT_URL_S3: proxy.endpoint } });
        return { result, heads: proxy.requests.slice(from).filter((r) => r.startsWith('HEAD ')).length };
      };
      const chk3 = `${root}/${JOB}/chk-3`;
      const intact = await inspect(chk3);
      expect([intact.result.code, intact.result.stderr]).toEqual([0, '']);
      expect(intact.result.stdout).toMatch(/8 data files \+/);
      // It was a HEAD for each of the 8 shared files.
      expect(intact.heads).toBe(0);
      // A savepoint's own data files (in its directory) alike.
      const savepoint = await inspect(remote);
      expect([savepoint.result.code, savepoint.result.stderr, savepoint.heads]).toEqual([0, '', 0]);

      const store = new S3ObjectStore(root, { endpoint: server.endpoint, credentials: server.credentials });
      const [missing, truncated] = ['0da08f51eaa8-1-chk1.tsfs', '0da08f51eaa8-1-chk2.tsfs'];
      await store.delete(`${JOB}/shared/${missing}`);
      await store.publish(`${JOB}/shared/${truncated}`, (await readFile(join(FIXTURE, JOB, 'shared', truncated))).subarray(0, 100));
      const damaged = await inspect(chk3);
      const verify = `(run 'flink verify ${chk3}' to check every byte)`;
      expect(damaged.result.code).toBe(1);
      expect(damaged.result.stderr).toBe(
        `${root}/${JOB}/shared/${missing}: missing (_metadata refers to it as a shared file); this checkpoint cannot be restored from as it is ${verify}\n` +
          `${root}/${JOB}/shared/${truncated}: size is 100 bytes, _metadata says 235; this checkpoint cannot be restored from as it is ${verify}\n`,
      );
      expect(damaged.heads).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('verify looks up the data files of a checkpoint from listings too, and names a missing or resized one as before', async () => {
    const root = 's3://snapshots/verified';
    await upload(root);
    const proxy = await startCountingProxy(server.endpoint);
    try {
      const verify = async (location: string): Promise<{ result: Awaited<ReturnType<typeof runFlink>>; heads: number }> => {
        const from = proxy.requests.length;
        const result = await runFlink(['verify', location], { env: { ...server.env, AWS_ENDPOINT_URL_S3: proxy.endpoint } });
        return { result, heads: proxy.requests.slice(from).filter((r) => r.startsWith('HEAD ')).length };
      };
      const chk3 = `${root}/${JOB}/chk-3`;
      const intact = await verify(chk3);
      expect([intact.result.code, intact.result.stderr]).toEqual([0, '']);
      expect(intact.result.stdout).toMatch(/^OK s3:\/\/snapshots\/verified\/.*checked 8 data file\(s\)/);
      // It was a HEAD for each of the 8 shared files.
      expect(intact.heads).toBe(0);
      const savepoint = await verify(remote);
      expect([savepoint.result.code, savepoint.result.stderr, savepoint.heads]).toEqual([0, '', 0]);

      const store = new S3ObjectStore(root, { endpoint: server.endpoint, credentials: server.credentials });
      const [missing, truncated] = ['0da08f51eaa8-1-chk1.tsfs', '0da08f51eaa8-1-chk2.tsfs'];
      await store.delete(`${JOB}/shared/${missing}`);
      await store.publish(`${JOB}/shared/${truncated}`, (await readFile(join(FIXTURE, JOB, 'shared', truncated))).subarray(0, 100));
      const damaged = await verify(chk3);
      expect(damaged.result.code).toBe(1);
      const lines = damaged.result.stdout.split('\n');
      expect(lines.slice(0, 2)).toEqual([
        `CORRUPT ${root}/${JOB}/shared/${missing}: missing (referenced by _metadata as a shared file)`,
        `CORRUPT ${root}/${JOB}/shared/${truncated}: size is 100 bytes, _metadata says 235`,
      ]);
      expect(damaged.heads).toBe(0);
    } finally {
      await proxy.stop();
    }
  });
});
