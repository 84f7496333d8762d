/**
 * `flink gc` on an s3:// checkpoint directory, through the real binary against a real S3 server
 * (s3rver): the same real checkpoints as on disk (one abandoned, one damaged, an orphan shared
 * file), uploaded; gc plans the same as for the local copy, then deletes through the store.
 */
import { readFile, readdir, rm, truncate, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../src/storage/s3-store.ts';
import { retainedCheckpoints } from './support/retained-checkpoints.ts';
import { runFlink } from './support/run-flink.ts';
import { type S3TestServer, startS3Server } from './support/s3-server.ts';
import { freePort } from './support/test-cluster.ts';
import { tempDir } from './support/temp-dir.ts';

const REMOTE = 's3://checkpoints/prod';

let server: S3TestServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let local: string;
let jobId: string;
let noClusterPort: string;
let store: S3ObjectStore;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('checkpoints');
  dir = await tempDir('tsflink-gc-s3-');
  noClusterPort = String(await freePort());
  local = join(dir.path, 'local');
  const made = await retainedCheckpoints(local, { checkpoints: 4, retain: 3 });
  jobId = made.jobId;
  const [chk2, chk3] = made.checkpoints;
  await rm(join(chk2!, '_metadata'));
  await truncate(join(chk3!, (await readdir(chk3!)).filter((f) => f.endsWith('.tsfs')).sort()[0]!), 50);
  await mkdir(join(local, jobId, 'shared'));
  await writeFile(join(local, jobId, 'shared', 'orphan'), 'unreferenced');
  store = new S3ObjectStore(REMOTE, { endpoint: server.endpoint, credentials: server.credentials });
  for (const name of (await readdir(local, { recursive: true })) as string[]) {
    const bytes = await readFile(join(local, name)).catch(() => undefined);
    if (bytes !== undefined) await store.publish(name, bytes);
  }
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

const s3 = (args: string[]): ReturnType<typeof runFlink> => runFlink(args, { env: { ...server.env } });

interface Report {
  items: { path: string; action: string; reason: string; bytes: number }[];
  deletes: { checkpoints: number; sharedFiles: number; bytes: number };
}

async function keys(): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(o.key);
  return out.sort();
}

describe('flink gc on s3://', () => {
  it('plans exactly as for the same directory on disk, then deletes through the store', async () => {
    const [remote, onDisk] = await Promise.all([
      s3(['gc', '--dry-run', '--json', '--keep', '1', '-D', `rest.port=${noClusterPort}`, REMOTE]),
      s3(['gc', '--dry-run', '--json', '--keep', '1', '-D', `rest.port=${noClusterPort}`, local]),
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(onDisk.code, onDisk.stderr).toBe(0);
    const strip = (r: Report) => r.items.map((i) => ({ ...i, location: undefined, reason: i.reason.split(local).join('<dir>').split(REMOTE).join('<dir>') }));
    const r = JSON.parse(remote.stdout) as Report;
    expect(strip(r)).toEqual(strip(JSON.parse(onDisk.stdout) as Report));
    expect(r.items.filter((i) => i.action === 'delete').map((i) => i.path)).toEqual([`${jobId}/chk-2`, `${jobId}/chk-3`, `${jobId}/shared/orphan`]);

    const deleted = await s3(['gc', '--keep', '1', '-D', `rest.port=${noClusterPort}`, REMOTE]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/\nDeleted 2 checkpoint\(s\) and 1 shared file\(s\), /);
    const left = await keys();
    expect(left.every((k) => k.startsWith(`${jobId}/chk-4/`))).toBe(true);
    expect(left).toContain(`${jobId}/chk-4/_metadata`);
    const verify = await s3(['verify', `${REMOTE}/${jobId}/chk-4`]);
    expect(verify.code, verify.stdout).toBe(0);
  });
});
