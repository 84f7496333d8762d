/**
 * The file tools on s3:// paths, through the real binary against a real S3 server (s3rver on a
 * free localhost port): a snapshot written to S3 inspects, verifies and diffs like a local one,
 * and a copy moved between disk and S3 is the same snapshot.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { S3ObjectStore } from '../src/storage/s3-store.ts';
import { runFlink } from './support/run-flink.ts';
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
