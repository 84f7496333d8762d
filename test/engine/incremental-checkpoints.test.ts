/**
 * Incremental checkpoints (`execution.checkpointing.incremental: true`) end to end, for every
 * keyed backend: a keyed job checkpoints with real files, fails once and restarts from an
 * incremental checkpoint (exactly-once output through a transactional sink), then is cancelled
 * with its checkpoints retained. Its `_metadata`s refer to earlier checkpoints' shared files
 * (`written: false`) and write far fewer bytes than they hold; `<jobId>/shared/` holds exactly
 * the files the retained checkpoints refer to (the registry deleted the rest and nothing
 * referred to). A second job restores the retained checkpoint at another parallelism, with
 * `no_claim` (its first checkpoint is full and never refers to the first job's files) or `claim`
 * (it builds on them).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failingPassThrough, heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { Source } from '../../src/engine/api/source.ts';
import { chainRewriteThread } from '../../src/engine/checkpoint/chain-rewrite-thread.ts';
import type { CheckpointConfig } from '../../src/engine/checkpoint/checkpoint-config.ts';
import type { SnapshotStats } from '../../src/engine/checkpoint/checkpoint-coordinator.ts';
import { toCheckpointId } from '../../src/engine/checkpoint/checkpoint-types.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { type JobClient, startLocally } from '../../src/engine/runtime/local-executor.ts';
import type { StateBackendType } from '../../src/engine/state/state-backend-type.ts';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { NoIntactCheckpointError, chooseRestoreCheckpoint } from '../../src/engine/checkpoint/choose-restore-checkpoint.ts';
import type { SnapshotMetadata } from '../../src/format/model.ts';
import { type OpenStoreOptions, openStore } from '../../src/storage/open-store.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDirForFile } from '../support/temp-dir.ts';

interface Visit {
  readonly user: string;
  readonly n: number;
}

const USERS = 2_000;
const HOT = 8;
const RECORDS = 8_000;
const dirs = tempDirForFile('tsflink-incremental-');

/** Every user once (twice), then only a few hot keys: later checkpoints change few keys. */
function visitOf(i: number): Visit {
  return { user: i < 2 * USERS ? `u${i % USERS}` : `h${i % HOT}`, n: 1 };
}

function expectedCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < RECORDS; i++) counts.set(visitOf(i).user, (counts.get(visitOf(i).user) ?? 0) + 1);
  return counts;
}

/** Holds a bounded source open at its end (never `done`), so the test decides when the job stops. */
function heldAtEnd<T>(source: Source<T>): Source<T> {
  return {
    bounded: source.bounded,
    createSplits: (parallelism) => source.createSplits(parallelism),
    createReader(context) {
      const inner = source.createReader(context);
      return {
        addSplits: (splits) => inner.addSplits(splits),
        snapshotSplits: () => inner.snapshotSplits(),
        async poll(max) {
          const result = await inner.poll(max);
          if (!result.done) return result;
          if (result.records.length === 0) await new Promise((r) => setTimeout(r, 5));
          return { records: result.records, done: false };
        },
      };
    },
  };
}

function newJobId(): string {
  return `${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}${'0'.repeat(20)}`;
}

/** Resolves once `condition` holds, checked as events arrive (no rate: it waits for the state it names). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

interface Checkpoints {
  readonly root: string;
  readonly jobId: string;
  readonly completed: SnapshotStats[];
  readonly restored: number[];
  readonly attempts: number;
}

function checkpointConfig(root: string, extra: Partial<CheckpointConfig> = {}): Partial<CheckpointConfig> {
  return { interval: 20, dir: root, incremental: true, numRetained: 3, retention: 'RETAIN_ON_CANCELLATION', ...extra };
}

/** The first job: fails once after three checkpoints, then runs to the end of its input and is cancelled after three more. */
async function runFirstJob(backend: StateBackendType, root: string, store: MemoryTransactionalStore<Visit>, storeOptions: OpenStoreOptions = {}): Promise<Checkpoints> {
  const jobId = newJobId();
  const completed: SnapshotStats[] = [];
  const restored: number[] = [];
  const source = new DataGeneratorSource<Visit>({ count: RECORDS, splits: 4, generate: visitOf });
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .setStateBackend(backend)
    .configureCheckpointing(checkpointConfig(root))
    .setRestartStrategy({ type: 'fixed-delay', attempts: 1, delayMs: 0 });
  const count = (): number => completed.filter((c) => c.kind === 'checkpoint').length;
  env
    .fromSource(heldAfter(heldAtEnd(source), RECORDS / 8, () => count() < 3), 'visits')
    .uid('visits')
    .map(failingPassThrough<Visit>((attempt) => (attempt === 0 && count() >= 3 ? 0 : Number.POSITIVE_INFINITY)))
    .uid('fail-once')
    .keyBy((v) => v.user)
    .sum('n')
    .uid('sums')
    .sinkTo(() => new MemoryTransactionalSink(store))
    .uid('sink');
  const client = startLocally(env.graph, {
    ...env.executionOptions('incremental'),
    jobId,
    storeOptions,
    events: { onCompleted: (c) => void completed.push(c), onRestored: (r) => void restored.push(r.id) },
  });
  await until(() => restored.length > 0);
  // Everything committed, then three more checkpoints: the retained ones are taken with nothing changing.
  await until(() => store.all().length === RECORDS);
  const committedAt = count();
  await until(() => count() >= committedAt + 3);
  const attempts = await cancel(client);
  return { root, jobId, completed, restored, attempts };
}

async function cancel(client: JobClient): Promise<number> {
  await client.cancel();
  return (await client.result).attempts;
}

async function readCheckpoint(location: string, options: OpenStoreOptions = {}): Promise<SnapshotMetadata> {
  return (await SnapshotReader.open(await openStore(location, options))).metadata;
}

function retainedDirs(root: string, jobId: string): string[] {
  return readdirSync(join(root, jobId))
    .filter((d) => /^chk-\d+$/.test(d))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((d) => join(root, jobId, d));
}

function sharedListing(root: string, jobId: string): string[] {
  const dir = join(root, jobId, 'shared');
  return existsSync(dir) ? readdirSync(dir).map((f) => `${jobId}/shared/${f}`).sort() : [];
}

/** Whether `m` refers to a block in its file `path`. */
function hasBlock(m: SnapshotMetadata, path: string): boolean {
  const index = m.files.findIndex((f) => f.path === path);
  return m.operators.some((op) => op.keyedStates.some((k) => k.blocks.some((b) => b.file === index)) || op.operatorStates.some((o) => o.partitions.some((b) => b?.file === index)));
}

function expectExactlyOnce(committed: readonly Visit[], expected: ReadonlyMap<string, number>): void {
  const sums = new Map<string, number[]>();
  for (const v of committed) sums.set(v.user, [...(sums.get(v.user) ?? []), v.n]);
  expect(sums.size).toBe(expected.size);
  for (const [user, n] of expected) expect({ user, sums: [...(sums.get(user) ?? [])].sort((a, b) => a - b) }).toEqual({ user, sums: Array.from({ length: n }, (_, i) => i + 1) });
}

/** The second job: every key once more from a new source, on the first job's `sums`, at parallelism 3, cancelled after two checkpoints. */
async function runSecondJob(
  backend: StateBackendType,
  root: string,
  from: string,
  claimMode: 'CLAIM' | 'NO_CLAIM',
  options: { readonly checkpoints?: number; readonly sourceUid?: string; readonly afterFirst?: (client: JobClient, completed: readonly SnapshotStats[]) => Promise<void> } = {},
): Promise<{ jobId: string; committed: Visit[]; completed: SnapshotStats[] }> {
  const jobId = newJobId();
  const store = new MemoryTransactionalStore<Visit>();
  const completed: SnapshotStats[] = [];
  const keys = [...expectedCounts().keys()];
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(3)
    .setStateBackend(backend)
    .configureCheckpointing(checkpointConfig(root))
    .restoreFrom(from, { allowNonRestoredState: true, claimMode });
  env
    .fromSource(heldAtEnd(new DataGeneratorSource<Visit>({ count: keys.length, splits: 3, generate: (i) => ({ user: keys[i]!, n: 1 }) })), 'more')
    .uid(options.sourceUid ?? 'more')
    .keyBy((v) => v.user)
    .sum('n')
    .uid('sums')
    .sinkTo(() => new MemoryTransactionalSink(store))
    .uid('sink');
  const client = startLocally(env.graph, { ...env.executionOptions('incremental again'), jobId, events: { onCompleted: (c) => void completed.push(c) } });
  await until(() => completed.length >= 1);
  await options.afterFirst?.(client, completed);
  await until(() => store.all().length === keys.length && completed.length >= (options.checkpoints ?? 2));
  await cancel(client);
  return { jobId, committed: store.all(), completed };
}

describe.each(['hashmap', 'rocksdb', 'lmdb'] as const)('incremental checkpoints on %s', (backend) => {
  it('refer to earlier checkpoints, restore exactly once after a failure, and keep exactly the shared files referred to', async () => {
    const root = dirs.next('root');
    const store = new MemoryTransactionalStore<Visit>();
    const rewrites = chainRewriteThread().written.groups;
    const run = await runFirstJob(backend, root, store);
    expect(run.attempts).toBe(2);
    expectExactlyOnce(store.all(), expectedCounts());
    // rocksdb's first checkpoint (its backend began empty) is written by the chain rewrite thread from the changes
    // recorded; a job shows no figure of the thread, this process's count does. The heap never asks it.
    if (backend === 'rocksdb') expect(chainRewriteThread().written.groups).toBeGreaterThan(rewrites);
    if (backend === 'hashmap') expect(chainRewriteThread().written.groups).toBe(rewrites);

    const retained = retainedDirs(root, run.jobId);
    expect(retained.length).toBe(3);
    const metadata = await Promise.all(retained.map((dir) => readCheckpoint(dir)));
    const referred = new Set<string>();
    for (const m of metadata) {
      expect(m.formatVersion).toBe(3);
      for (const f of m.files) {
        expect(f.shared).toBe(true);
        referred.add(f.path);
      }
    }
    // The newest was taken with nothing changing: it writes a small part of what it holds.
    const newest = metadata.at(-1)!;
    const written = newest.files.filter((f) => f.written !== false).reduce((s, f) => s + f.size, 0);
    const total = newest.files.reduce((s, f) => s + f.size, 0);
    expect(newest.files.some((f) => f.written === false)).toBe(true);
    expect(written).toBeLessThan(total * 0.2);
    // REST's figures: checkpointed_size is what it wrote, state_size all it refers to.
    const stats = run.completed.find((c) => c.id === newest.checkpointId)!;
    expect({ size: stats.size, stateSize: stats.stateSize, incremental: stats.incremental }).toEqual({ size: written, stateSize: total, incremental: true });
    // The shared directory holds what the retained checkpoints refer to, nothing more, nothing less.
    expect(sharedListing(root, run.jobId)).toEqual([...referred].sort());
    // chk-<n>/ holds only _metadata.
    for (const dir of retained) expect(readdirSync(dir)).toEqual(['_metadata']);

    // Restored at parallelism 3 without claiming: state carried over, its files never referred to.
    const second = await runSecondJob(backend, root, retained.at(-1)!, 'NO_CLAIM');
    expect(second.committed.map((v) => `${v.user}=${v.n}`).sort()).toEqual([...expectedCounts()].map(([u, n]) => `${u}=${n + 1}`).sort());
    for (const dir of retainedDirs(root, second.jobId)) {
      for (const f of (await readCheckpoint(dir)).files) expect(f.path.startsWith(`${second.jobId}/shared/`)).toBe(true);
    }
    // The first job's checkpoints are untouched.
    expect(sharedListing(root, run.jobId)).toEqual([...referred].sort());
  });
});

describe('incremental checkpoints after a restore (hashmap)', () => {
  it('claim builds on the restored chains and takes them over; --full refers to nothing; savepoints stay full; no_claim refers to nothing at first', async () => {
    const root = dirs.next('root');
    const first = await runFirstJob('hashmap', root, new MemoryTransactionalStore<Visit>());
    const claimed = retainedDirs(root, first.jobId).at(-1)!;
    let full: SnapshotStats | undefined;
    let savepoint = '';
    const second = await runSecondJob('hashmap', root, claimed, 'CLAIM', {
      checkpoints: 6,
      afterFirst: async (client, completed) => {
        const location = await client.triggerCheckpoint(true);
        full = completed.find((c) => location.endsWith(`chk-${c.id}`));
        savepoint = await client.triggerSavepoint(join(root, 'savepoints'));
      },
    });
    // A savepoint of an incremental job is full and self-contained, as today: no shared file, not version 3.
    const sp = await readCheckpoint(savepoint);
    expect(sp.formatVersion).toBeLessThan(3);
    expect(sp.files.every((f) => f.shared !== true && !f.path.includes('/'))).toBe(true);
    // The first checkpoint after a claim refers to the claimed checkpoint's files besides what it wrote.
    const [firstAfterClaim] = second.completed;
    expect(firstAfterClaim!.stateSize).toBeGreaterThan(firstAfterClaim!.size);
    // `--full` writes every key group whole: it refers to nothing it did not write.
    expect(full).toBeDefined();
    expect(full!.stateSize).toBe(full!.size);
    // The claimed checkpoint was subsumed (six newer ones, three retained): its directory is gone,
    // and every file the second job's retained checkpoints refer to is still there.
    expect(existsSync(claimed)).toBe(false);
    const listing = new Set([...sharedListing(root, first.jobId), ...sharedListing(root, second.jobId)]);
    for (const dir of retainedDirs(root, second.jobId)) for (const f of (await readCheckpoint(dir)).files) expect(listing.has(f.path)).toBe(true);
    // No claim: the first checkpoint refers to nothing of the snapshot it restored.
    const third = await runSecondJob('hashmap', root, retainedDirs(root, second.jobId).at(-1)!, 'NO_CLAIM', { sourceUid: 'more-again' });
    expect(third.completed[0]!.stateSize).toBe(third.completed[0]!.size);
  });

  it('a job resumed by a new JobManager rebuilds the registry from the retained checkpoints, builds on them, and deletes orphans', async () => {
    const root = dirs.next('root');
    const store = new MemoryTransactionalStore<Visit>();
    const first = await runFirstJob('hashmap', root, store);
    const retained = retainedDirs(root, first.jobId).map((location) => ({ id: toCheckpointId(Number(location.split('chk-')[1])), location, completedAt: 0 }));
    // Left by a worker that died while writing a checkpoint that never completed.
    const orphan = `${first.jobId}/shared/a0f90dae8f3f-0-chk999-a0-deadbeef.tsfs`;
    writeFileSync(join(root, orphan), 'half a file');
    // As a worker started by a JobManager that found the job's record: same job id, its retained checkpoints, the newest restored.
    const completed: SnapshotStats[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing(checkpointConfig(root)).restoreFrom(retained.at(-1)!.location);
    env
      .fromSource(heldAtEnd(new DataGeneratorSource<Visit>({ count: RECORDS, splits: 4, generate: visitOf })), 'visits')
      .uid('visits')
      .map((v: Visit) => v)
      .uid('fail-once')
      .keyBy((v) => v.user)
      .sum('n')
      .uid('sums')
      // A store of its own: the same job id and attempt number would name transactions as the first run did.
      .sinkTo(() => new MemoryTransactionalSink(new MemoryTransactionalStore<Visit>()))
      .uid('sink');
    const client = startLocally(env.graph, {
      ...env.executionOptions('resumed'),
      jobId: first.jobId,
      resume: { nextId: retained.at(-1)!.id + 1, completed: retained },
      events: { onCompleted: (c) => void completed.push(c) },
    });
    await until(() => completed.length >= 4);
    await cancel(client);
    // Its own checkpoint: the first one after the resume refers to the restored files.
    expect(completed[0]!.stateSize).toBeGreaterThan(completed[0]!.size);
    const referred = new Set<string>();
    for (const dir of retainedDirs(root, first.jobId)) for (const f of (await readCheckpoint(dir)).files) referred.add(f.path);
    // The orphan is gone, and so is every file only the subsumed checkpoints of the first run referred to.
    expect(sharedListing(root, first.jobId)).toEqual([...referred].sort());
  });

  it('a damaged shared file: the restart falls back to a checkpoint without it, or fails naming it', async () => {
    const root = dirs.next('root');
    const first = await runFirstJob('hashmap', root, new MemoryTransactionalStore<Visit>());
    const retained = retainedDirs(root, first.jobId).map((location) => ({ id: Number(location.split('chk-')[1]), location }));
    const [oldest, middle, newest] = (await Promise.all(retained.map((r) => readCheckpoint(r.location)))) as [SnapshotMetadata, SnapshotMetadata, SnapshotMetadata];
    /** Flips a byte in the middle of the first block `m` refers to in its file `path`. */
    const damage = (m: SnapshotMetadata, path: string): void => {
      const index = m.files.findIndex((f) => f.path === path);
      const block = m.operators.flatMap((op) => [...op.keyedStates.flatMap((k) => k.blocks), ...op.operatorStates.flatMap((o) => o.partitions)]).find((b) => b !== null && b.file === index)!;
      const file = join(root, path);
      const bytes = readFileSync(file);
      const at = block.offset + (block.length >> 1);
      bytes[at] = (bytes[at] ?? 0) ^ 0x40;
      writeFileSync(file, bytes);
    };
    const ids = retained.map((r) => r.id);
    // Written by the newest only: the one before it is intact and chosen.
    const own = newest.files.find((f) => f.written !== false && hasBlock(newest, f.path) && !hasBlock(middle, f.path));
    expect(own).toBeDefined();
    damage(newest, own!.path);
    let choice = await chooseRestoreCheckpoint(retained, {});
    expect(choice.chosen?.id).toBe(ids[1]);
    expect(choice.damaged.map((d) => d.checkpoint.id)).toEqual([ids[2]]);
    expect(choice.damaged[0]!.problem).toContain(own!.path.split('/').pop()!);
    // Written by the middle one (the newest may refer to it too): the oldest is chosen.
    const middles = middle.files.find((f) => f.written !== false && hasBlock(middle, f.path) && !hasBlock(oldest, f.path));
    expect(middles).toBeDefined();
    damage(middle, middles!.path);
    choice = await chooseRestoreCheckpoint(retained, {});
    expect(choice.chosen?.id).toBe(ids[0]);
    // Then one of the oldest's: none is intact, the job is not started empty, and the error names the file.
    const olds = oldest.files.find((f) => hasBlock(oldest, f.path))!;
    damage(oldest, olds.path);
    const error = await chooseRestoreCheckpoint(retained, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoIntactCheckpointError);
    expect((error as Error).message).toContain(olds.path.split('/').pop()!);
  });

  it('claim of a checkpoint under another checkpoint root: the first checkpoint is full, and the claimed checkpoint goes with its shared files once subsumed', async () => {
    const root = dirs.next('root');
    const first = await runFirstJob('hashmap', root, new MemoryTransactionalStore<Visit>());
    const claimed = retainedDirs(root, first.jobId).at(-1)!;
    const claimedFiles = (await readCheckpoint(claimed)).files.filter((f) => f.shared === true).map((f) => f.path);
    expect(claimedFiles.length).toBeGreaterThan(0);
    const otherRoot = dirs.next('other-root');
    const second = await runSecondJob('hashmap', otherRoot, claimed, 'CLAIM', { checkpoints: 5 });
    // Nothing of the other root is referred to: its first checkpoint is whole.
    expect(second.completed[0]!.stateSize).toBe(second.completed[0]!.size);
    // Subsumed (five newer ones, three retained): the job owned it, so its directory and the shared files it listed are gone, as Flink deletes a claimed snapshot.
    expect(existsSync(claimed)).toBe(false);
    const left = new Set(sharedListing(root, first.jobId));
    expect(claimedFiles.filter((f) => left.has(f))).toEqual([]);
    // The second job's own checkpoints keep everything they refer to.
    const own = new Set(sharedListing(otherRoot, second.jobId));
    for (const dir of retainedDirs(otherRoot, second.jobId)) for (const f of (await readCheckpoint(dir)).files) if (f.shared === true) expect(own.has(f.path)).toBe(true);
  });
});

describe('incremental checkpoints on s3:// (s3rver)', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createBucket('incremental');
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('fail over exactly once and keep exactly the shared objects the retained checkpoints refer to', async () => {
    const options: OpenStoreOptions = { s3Endpoint: s3.endpoint, s3PathStyle: true, s3Credentials: s3.credentials };
    const root = 's3://incremental/ck';
    const store = new MemoryTransactionalStore<Visit>();
    const run = await runFirstJob('rocksdb', root, store, options);
    expect(run.attempts).toBe(2);
    expectExactlyOnce(store.all(), expectedCounts());
    const bucket = await openStore(root, options);
    const keys: string[] = [];
    for await (const o of bucket.list(`${run.jobId}/`)) keys.push(o.key);
    const checkpoints = [...new Set(keys.flatMap((k) => /^[0-9a-f]{32}\/(chk-\d+)\/_metadata$/.exec(k)?.[1] ?? []))];
    expect(checkpoints.length).toBe(3);
    const referred = new Set<string>();
    for (const chk of checkpoints) {
      const m = await readCheckpoint(`${root}/${run.jobId}/${chk}`, options);
      expect(m.files.some((f) => f.written === false)).toBe(true);
      for (const f of m.files) referred.add(f.path);
    }
    expect(keys.filter((k) => k.startsWith(`${run.jobId}/shared/`)).sort()).toEqual([...referred].sort());
  });
});
