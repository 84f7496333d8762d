/**
 * Native savepoints in process (`JobClient.triggerSavepoint(dir, { type: 'native' })`), per keyed
 * backend: with incremental checkpoints the savepoint holds a delta on the last checkpoint and
 * copies of the shared files it refers to, reads whole with the job's checkpoints deleted, and
 * restores at another parallelism on the same backend (the counts go on from where they were);
 * `flink run -s` on another backend is refused (native-restore.ts). Without incremental
 * checkpoints it is the canonical layout, typed native.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heldAfter, heldAtEnd } from '../../fixtures/jobs/fail-injection.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { nativeBackendMismatch } from '../../src/engine/checkpoint/native-restore.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import type { BuiltStateBackendType } from '../../src/engine/state/state-backend-type.ts';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { type OpenStoreOptions, openStore } from '../../src/storage/open-store.ts';
import { deleteSnapshot } from '../../src/engine/checkpoint/delete-snapshot.ts';
import { startS3Server } from '../support/s3-server.ts';
import { tempDirForFile } from '../support/temp-dir.ts';

const USERS = 500;
const RECORDS = 6_000;
const dirs = tempDirForFile('tsflink-native-');

interface Visit {
  readonly user: string;
  readonly n: number;
}
const visitOf = (i: number): Visit => ({ user: `u${i % USERS}`, n: 1 });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

function newJobId(): string {
  return `${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}${'0'.repeat(20)}`;
}

/** A job summing visits per user, held after part of its input until `released`; its savepoint once every record is in. */
async function savepointOf(backend: BuiltStateBackendType, incremental: boolean, at?: { readonly root: string; readonly storeOptions: OpenStoreOptions }): Promise<{ savepoint: string; checkpoints: string; jobId: string }> {
  const root = at?.root ?? dirs.next();
  const checkpoints = `${root}/checkpoints`;
  let released = false;
  // Held open once every record is in, until the savepoint is taken: a job that finished first would abort it.
  let savepointTaken = false;
  const seen: Visit[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .setStateBackend(backend)
    .configureCheckpointing({ interval: 3_600_000, dir: checkpoints, incremental, numRetained: 3 });
  env
    .fromSource(heldAtEnd(heldAfter(new DataGeneratorSource<Visit>({ count: RECORDS, splits: 4, generate: visitOf }), RECORDS / 8, () => !released), () => !savepointTaken), 'visits')
    .uid('visits')
    .keyBy((v) => v.user)
    .sum('n')
    .uid('sums')
    .sinkTo(() => ({ invoke: (v: Visit) => void seen.push(v) }))
    .uid('sink');
  const jobId = newJobId();
  const client = startLocally(env.graph, { ...env.executionOptions('native'), jobId, ...(at === undefined ? {} : { storeOptions: at.storeOptions }) });
  await until(() => seen.length > 0);
  await client.triggerCheckpoint();
  released = true;
  // Every record is in, and no checkpoint after the first: the savepoint's delta holds the rest.
  await until(() => seen.length === RECORDS);
  const savepoint = await client.triggerSavepoint(`${root}/savepoints`, { type: 'native' });
  savepointTaken = true;
  await client.cancel();
  await client.result;
  return { savepoint, checkpoints, jobId };
}

async function sums(location: string, storeOptions: OpenStoreOptions = {}): Promise<Map<string, number>> {
  const reader = await SnapshotReader.open(await openStore(location, storeOptions));
  const out = new Map<string, number>();
  for (const state of reader.operator('sums').keyedStates) {
    for await (const batch of reader.readKeyed('sums', state.name)) batch.keys.forEach((k, i) => out.set(k as string, (batch.values[i] as Visit).n));
  }
  return out;
}

const expected = new Map(Array.from({ length: USERS }, (_, u) => [`u${u}`, RECORDS / USERS]));

describe.each(['hashmap', 'rocksdb', 'lmdb'] as const)('a native savepoint on %s', (backend) => {
  it('with incremental checkpoints: a delta and copies of the shared files, whole without the checkpoints, restored at parallelism 3', async () => {
    const { savepoint, checkpoints, jobId } = await savepointOf(backend, true);
    const metadata = (await SnapshotReader.open(new LocalObjectStore(savepoint))).metadata;
    expect([metadata.kind, metadata.type, metadata.formatVersion]).toEqual(['savepoint', 'native', 3]);
    expect(metadata.files.some((f) => f.written === false && f.shared === false && f.path.startsWith('shared/'))).toBe(true);
    expect(metadata.files.some((f) => f.written !== false)).toBe(true);
    expect(metadata.operators.find((o) => o.uid === 'sums')!.keyedStates.some((s) => s.blocks.some((b) => b.kind === 'upserts'))).toBe(true);
    expect(metadata.files.every((f) => f.shared !== true)).toBe(true);
    expect(metadata.operators.find((o) => o.uid === 'sums')?.stateBackend ?? 'hashmap').toBe(backend);
    rmSync(join(checkpoints, jobId), { recursive: true, force: true });
    expect(await sums(savepoint)).toEqual(expected);

    const other = backend === 'lmdb' ? 'rocksdb' : 'lmdb';
    expect(nativeBackendMismatch(metadata, other, savepoint)).toMatch(new RegExp(`^Cannot restore the job from ${savepoint}: it is a native savepoint written by the ${backend} state backend, and this job uses ${other} \\(state\\.backend\\.type\\)`));
    expect(nativeBackendMismatch(metadata, backend, savepoint)).toBeUndefined();

    // Restored at parallelism 3 on the same backend: each user once more.
    const seen: Visit[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).setStateBackend(backend);
    env
      .fromSource(new DataGeneratorSource<Visit>({ count: USERS, splits: 3, generate: visitOf }), 'visits-again')
      .uid('visits-again')
      .keyBy((v) => v.user)
      .sum('n')
      .uid('sums')
      .sinkTo(() => ({ invoke: (v: Visit) => void seen.push(v) }))
      .uid('sink');
    const result = await startLocally(env.graph, { ...env.executionOptions('native-restored'), restoreFrom: savepoint, allowNonRestoredState: true }).result;
    expect(result.status).toBe('FINISHED');
    expect(new Map(seen.map((v) => [v.user, v.n]))).toEqual(new Map([...expected].map(([u, n]) => [u, n + 1])));
    expect(existsSync(join(savepoint, '_metadata'))).toBe(true);
  }, 120_000);
});

it('without incremental checkpoints: the canonical layout (version 1), typed native', async () => {
  const { savepoint } = await savepointOf('rocksdb', false);
  const metadata = (await SnapshotReader.open(new LocalObjectStore(savepoint))).metadata;
  expect([metadata.kind, metadata.type, metadata.formatVersion]).toEqual(['savepoint', 'native', 1]);
  expect(metadata.files.every((f) => f.written !== false)).toBe(true);
  expect(await sums(savepoint)).toEqual(expected);
}, 120_000);

it('on s3:// (s3rver): the shared files are copied into the savepoint, which reads whole with the checkpoints deleted', async () => {
  const s3 = await startS3Server();
  try {
    await s3.createBucket('native');
    const storeOptions: OpenStoreOptions = { s3Endpoint: s3.endpoint, s3PathStyle: true, s3Credentials: s3.credentials };
    const { savepoint, checkpoints, jobId } = await savepointOf('hashmap', true, { root: 's3://native/run', storeOptions });
    const store = await openStore(savepoint, storeOptions);
    const metadata = (await SnapshotReader.open(store)).metadata;
    expect([metadata.type, metadata.formatVersion]).toEqual(['native', 3]);
    const copies = metadata.files.filter((f) => f.written === false);
    expect(copies.length).toBeGreaterThan(0);
    for (const f of copies) expect((await store.stat(f.path))?.size).toBe(f.size);
    // The job's checkpoints and shared files go: the savepoint holds its own copies.
    const root = await openStore(checkpoints, storeOptions);
    for await (const o of root.list(`${jobId}/`)) await root.delete(o.key);
    expect(await sums(savepoint, storeOptions)).toEqual(expected);
    await deleteSnapshot(savepoint, storeOptions);
  } finally {
    await s3.stop();
  }
}, 120_000);
