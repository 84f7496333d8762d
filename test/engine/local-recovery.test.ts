/**
 * Local recovery (`execution.checkpointing.local-backup.enabled`) against a real S3 server
 * (s3rver) behind a proxy that records every request: a job checkpoints to s3://, fails once after
 * three checkpoints completed, and restarts (its restart strategy). With local copies the restore
 * reads no data file from S3 (only `_metadata`, which stays the truth about the checkpoint); a
 * damaged copy is read from S3 instead; either way the committed output is exactly once. The same
 * with incremental checkpoints, whose chains lie in shared files of earlier checkpoints: those have
 * local copies too, pruned to what the latest confirmed checkpoint refers to.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { failingPassThrough, heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { chainRewriteThread } from '../../src/engine/checkpoint/chain-rewrite-thread.ts';
import type { CheckpointConfig } from '../../src/engine/checkpoint/checkpoint-config.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { openSnapshot } from '../../src/open-snapshot.ts';
import type { SnapshotMetadata } from '../../src/format/model.ts';
import { type CountingProxy, startCountingProxy } from '../support/counting-proxy.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { type S3TestServer, startS3Server } from '../support/s3-server.ts';
import { tempDirForFile } from '../support/temp-dir.ts';

interface Visit {
  readonly user: string;
  readonly n: number;
}

const RECORDS = 6_000;
const USERS = 300;
const BUCKET = 'local-recovery';
/** What the reader's checks say of a flipped byte in a data file, as the line that gives up its copy quotes it. */
const DAMAGE_FOUND = /\((frame checksum mismatch|frame length \d+ runs past the end of its block|frame with no items|block checksum mismatch) at offset \d+\)/;
const dirs = tempDirForFile('tsflink-local-recovery-');

let s3: S3TestServer;
let proxy: CountingProxy;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  proxy = await startCountingProxy(s3.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

interface Run {
  readonly committed: Visit[];
  readonly restoredFrom: number[];
  /** Checkpoint directories under the job's local directory when the failure came. */
  readonly localAtFailure: string[];
  /** The latest checkpoint completed before the failure. */
  readonly latestAtFailure: number;
  readonly jobDir: string;
  readonly attempts: number;
  /** Each completed checkpoint's bytes: written by it (`size`) and referred to in all (`stateSize`). */
  readonly sizes: Map<number, { readonly size: number; readonly stateSize: number }>;
}

/**
 * Runs the job: running sums of `n` (always 1) per user, so exactly once means each user's
 * committed sums are exactly 1..(its records). `atFailure` runs when the first attempt failed,
 * before the restart.
 */
async function runJob(checkpoint: Partial<CheckpointConfig>, atFailure: (jobDir: string) => void = () => undefined): Promise<Run> {
  const store = new MemoryTransactionalStore<Visit>();
  let completed = 0;
  let latest = 0;
  // With incremental checkpoints the failure waits for a newest checkpoint that is a chain (refers
  // to earlier files): under load one may be written whole (a base the subtask had to drop).
  const sizes = new Map<number, { size: number; stateSize: number }>();
  const ready = (): boolean => completed >= 3 && (checkpoint.incremental !== true || (sizes.get(latest)?.stateSize ?? 0) > (sizes.get(latest)?.size ?? 0));
  const source = new DataGeneratorSource<Visit>({ count: RECORDS, splits: 4, generate: (i) => ({ user: `u${i % USERS}`, n: 1 }) });
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .configureCheckpointing({ interval: 20, ...checkpoint })
    .setRestartStrategy({ type: 'fixed-delay', attempts: 1, delayMs: 0 });
  env
    // Each reader stops halfway until three checkpoints completed (see ready), so the failure always has records left.
    .fromSource(heldAfter(source, RECORDS / 4, () => !ready()), 'visits')
    .uid('visits')
    .map(failingPassThrough<Visit>((attempt) => (attempt === 0 && ready() ? 0 : Number.POSITIVE_INFINITY)))
    .uid('fail-once')
    .keyBy((v) => v.user)
    .sum('n')
    .uid('sums')
    .sinkTo(() => new MemoryTransactionalSink(store))
    .uid('sink');
  const restoredFrom: number[] = [];
  let localAtFailure: string[] = [];
  let latestAtFailure = 0;
  const jobId = `${Math.random().toString(16).slice(2).padEnd(16, '0')}${'0'.repeat(16)}`.slice(0, 32);
  const jobDir = join(checkpoint.localRootDir ?? '/nonexistent', jobId);
  const client = startLocally(env.graph, {
    ...env.executionOptions('local recovery'),
    jobId,
    storeOptions: { s3Endpoint: proxy.endpoint, s3PathStyle: true, s3Credentials: s3.credentials },
    events: {
      onCompleted: (c) => {
        if (c.kind !== 'checkpoint') return;
        completed += 1;
        sizes.set(c.id, { size: c.size, stateSize: c.stateSize ?? c.size });
        // Completion events can arrive out of id order under load; the restore takes the newest.
        latest = Math.max(latest, c.id);
      },
      onRestored: (r) => void restoredFrom.push(r.id),
      onAttemptFailed: () => {
        latestAtFailure = latest;
        localAtFailure = existsSync(jobDir) ? readdirSync(jobDir).sort() : [];
        atFailure(jobDir);
      },
    },
  });
  const result = await client.result;
  return { committed: store.all(), restoredFrom, localAtFailure, latestAtFailure, jobDir, attempts: result.attempts, sizes };
}

function expectExactlyOnce(committed: readonly Visit[]): void {
  const sums = new Map<string, number[]>();
  for (const v of committed) sums.set(v.user, [...(sums.get(v.user) ?? []), v.n]);
  expect(sums.size).toBe(USERS);
  for (const [user, values] of sums) {
    expect({ user, sums: [...values].sort((a, b) => a - b) }).toEqual({ user, sums: Array.from({ length: RECORDS / USERS }, (_, i) => i + 1) });
  }
}

/** Requests to the proxy since `from` that read (GET) or look at (HEAD) a checkpoint's data files, and that read its `_metadata`. */
function reads(from: number): { data: string[]; metadata: string[] } {
  const requests = proxy.requests.slice(from).filter((r) => r.startsWith('GET ') || r.startsWith('HEAD '));
  return { data: requests.filter((r) => /\.tsfs(\?|$)/.test(r)), metadata: requests.filter((r) => /^GET .*\/_metadata(\?|$)/.test(r)) };
}

function dataFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tsfs'));
}

describe('local recovery', () => {
  it('restores from local copies: no data file read from S3, exactly once, subsumed copies gone', async () => {
    const root = dirs.next('root');
    const before = proxy.requests.length;
    const run = await runJob({ dir: `s3://${BUCKET}/ck-local`, localBackup: true, localRootDir: root });
    expect(run.attempts).toBe(2);
    expect(run.restoredFrom).toEqual([run.latestAtFailure]);
    // Only the latest completed checkpoint keeps its copies; pending ones were aborted with theirs.
    expect(run.localAtFailure).toEqual([`chk-${run.latestAtFailure}`]);
    const { data, metadata } = reads(before);
    expect(data).toEqual([]);
    // `_metadata` is read from S3: once to check the restore point, once to open it.
    expect(metadata.length).toBe(2);
    expectExactlyOnce(run.committed);
    // The job ended: its local directory is gone.
    expect(existsSync(run.jobDir)).toBe(false);
  });

  it('falls back to S3 for a damaged local copy, silently but for a log line, and is still exactly once', async () => {
    const root = dirs.next('root');
    const before = proxy.requests.length;
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      // @ts-expect-error -- passing the remaining overload arguments through unchanged
      return write(chunk, ...rest);
    });
    let damaged: string[] = [];
    try {
      const run = await runJob({ dir: `s3://${BUCKET}/ck-damaged`, localBackup: true, localRootDir: root }, (jobDir) => {
        const chk = join(jobDir, readdirSync(jobDir)[0] ?? 'none');
        damaged = dataFiles(chk);
        for (const file of damaged) {
          const bytes = readFileSync(join(chk, file));
          const middle = bytes.length >> 1;
          bytes[middle] = (bytes[middle] ?? 0) ^ 0x40; // one byte in the middle of the file
          writeFileSync(join(chk, file), bytes);
        }
      });
      expect(run.attempts).toBe(2);
      expect(damaged.length).toBeGreaterThan(0);
      const { data } = reads(before);
      // Every damaged file was read from S3 instead.
      for (const file of damaged) expect(data.some((r) => r.includes(file.split('/').pop()!))).toBe(true);
      // Logged once each (by the restore that reads it, not also by the check of the restore point), never thrown.
      const fallbacks = logged.filter((l) => l.startsWith('local recovery: not using the local copy'));
      for (const file of damaged) expect(fallbacks.filter((l) => l.includes(file)), file).toHaveLength(1);
      expect(fallbacks).toHaveLength(damaged.length);
      expect(logged.join('')).toMatch(DAMAGE_FOUND);
      expectExactlyOnce(run.committed);
    } finally {
      spy.mockRestore();
    }
  });

  it('with the flag off creates no local directory and reads the data files from S3', async () => {
    const root = dirs.next('root');
    const before = proxy.requests.length;
    const run = await runJob({ dir: `s3://${BUCKET}/ck-off`, localRootDir: root });
    expect(run.attempts).toBe(2);
    expect(run.localAtFailure).toEqual([]);
    expect(existsSync(root)).toBe(false);
    expect(reads(before).data.length).toBeGreaterThan(0);
    expectExactlyOnce(run.committed);
  });
});

/** Local copies of shared files under the job's local directory, by their path relative to the checkpoint root (only those with a record: the ones a restore may use). */
function sharedCopies(jobDir: string): string[] {
  const dir = join(jobDir, 'shared');
  if (!existsSync(dir)) return [];
  const jobId = jobDir.split(/[/\\]/).pop()!;
  return readdirSync(dir)
    .filter((n) => n.endsWith('.local.json'))
    .map((n) => `${jobId}/shared/${n.slice(0, -'.local.json'.length)}`)
    .sort();
}

async function checkpointMetadata(location: string): Promise<SnapshotMetadata> {
  return (await openSnapshot(location, { s3Endpoint: proxy.endpoint, s3PathStyle: true, s3Credentials: s3.credentials })).metadata;
}

/** Resolves once `condition` holds, checked again and again (no rate: it waits for the state it names). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 10));
}

describe('local recovery with incremental checkpoints', () => {
  it('restores a chain from local copies of the shared files: no data file read from S3, exactly once', async () => {
    const root = dirs.next('root');
    const dir = `s3://${BUCKET}/ck-inc`;
    let atFailure = 0;
    let copiesAtFailure: string[] = [];
    const run = await runJob({ dir, incremental: true, localBackup: true, localRootDir: root }, (jobDir) => {
      atFailure = proxy.requests.length;
      copiesAtFailure = sharedCopies(jobDir);
    });
    expect(copiesAtFailure.length).toBeGreaterThan(0);
    expect(run.attempts).toBe(2);
    expect(run.restoredFrom).toEqual([run.latestAtFailure]);
    // Only shared copies: an incremental checkpoint's chk-<n>/ holds only `_metadata`, never copied.
    expect(run.localAtFailure).toEqual(['shared']);
    const { data, metadata } = reads(atFailure);
    expect(data).toEqual([]);
    expect(metadata.length).toBe(2);
    expectExactlyOnce(run.committed);
    expect(existsSync(run.jobDir)).toBe(false);
    // The restored checkpoint was a chain: it refers to more than it wrote (shared files of earlier checkpoints), all read locally.
    const restored = run.sizes.get(run.latestAtFailure)!;
    expect(restored.stateSize).toBeGreaterThan(restored.size);
  });

  it('rewrites rocksdb chains from the local copies of the shared files, the checkpoint root being on S3', async () => {
    // The chain rewrite thread reads base blocks from files on local disk: with the root on S3, from the local copies.
    // Records flow until it did (deltas make chains that the stagger or the delta ratio rewrite), or until a deadline
    // that then fails the expectation below; the job is then cancelled.
    const thread = chainRewriteThread();
    expect(await thread.whenReady).toBe(true);
    const before = thread.written.fromFiles;
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .setStateBackend('rocksdb')
      .configureCheckpointing({ interval: 20, dir: `s3://${BUCKET}/ck-inc-rewrite`, incremental: true, localBackup: true, localRootDir: dirs.next('root') });
    env
      .fromSource(new DataGeneratorSource<Visit>({ count: Number.MAX_SAFE_INTEGER, splits: 2, generate: (i) => ({ user: `u${i % USERS}`, n: 1 }) }), 'visits')
      .uid('visits')
      .keyBy((v) => v.user)
      .sum('n')
      .uid('sums')
      .sinkTo(() => ({ invoke: () => undefined }))
      .uid('sink');
    const client = startLocally(env.graph, { ...env.executionOptions('rewrites from local copies'), storeOptions: { s3Endpoint: proxy.endpoint, s3PathStyle: true, s3Credentials: s3.credentials } });
    const deadline = Date.now() + 60_000;
    await until(() => thread.written.fromFiles > before || Date.now() > deadline);
    await client.cancel();
    expect((await client.result).status).toBe('CANCELED');
    expect(thread.written.fromFiles).toBeGreaterThan(before);
  }, 90_000);

  it('falls back to S3 for a damaged copy of a shared file, with a log line, and is still exactly once', async () => {
    const root = dirs.next('root');
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      // @ts-expect-error -- passing the remaining overload arguments through unchanged
      return write(chunk, ...rest);
    });
    let atFailure = 0;
    let damaged: string[] = [];
    try {
      const run = await runJob({ dir: `s3://${BUCKET}/ck-inc-damaged`, incremental: true, localBackup: true, localRootDir: root }, (jobDir) => {
        atFailure = proxy.requests.length;
        damaged = sharedCopies(jobDir).map((p) => p.split('/').pop()!);
        for (const name of damaged) {
          const file = join(jobDir, 'shared', name);
          const bytes = readFileSync(file);
          const middle = bytes.length >> 1;
          bytes[middle] = (bytes[middle] ?? 0) ^ 0x40;
          writeFileSync(file, bytes);
        }
      });
      expect(run.attempts).toBe(2);
      expect(damaged.length).toBeGreaterThan(0);
      const { data } = reads(atFailure);
      expect(data.length).toBeGreaterThan(0);
      // What was read from S3 is exactly what was damaged (each copy a restore needed).
      for (const r of data) expect(damaged.some((name) => r.includes(name))).toBe(true);
      const fallbacks = logged.filter((l) => l.startsWith('local recovery: not using the local copy'));
      expect(fallbacks.length).toBeGreaterThan(0);
      for (const l of fallbacks) expect(l).toMatch(DAMAGE_FOUND);
      // Once per copy: the check of the restore point before the restore says nothing.
      expect(new Set(fallbacks).size).toBe(fallbacks.length);
      expectExactlyOnce(run.committed);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps exactly the copies the latest confirmed checkpoint refers to: the others are gone after later checkpoints', async () => {
    const root = dirs.next('root');
    const dir = `s3://${BUCKET}/ck-inc-prune`;
    const store = new MemoryTransactionalStore<Visit>();
    let holding = true;
    const source = new DataGeneratorSource<Visit>({ count: RECORDS, splits: 4, generate: (i) => ({ user: `u${i % USERS}`, n: 1 }) });
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      // Checkpoints only when the test takes them: each one completed is the newest, nothing pending.
      .configureCheckpointing({ interval: 3_600_000, dir, incremental: true, localBackup: true, localRootDir: root });
    env
      // Halfway while `holding`, then at three quarters for good: the job never finishes, the test cancels it.
      .fromSource(heldAfter(heldAfter(source, (3 * RECORDS) / 8, () => true), RECORDS / 4, () => holding), 'visits')
      .uid('visits')
      .keyBy((v) => v.user)
      .sum('n')
      .uid('sums')
      .sinkTo(() => new MemoryTransactionalSink(store))
      .uid('sink');
    const jobId = `${Math.random().toString(16).slice(2).padEnd(16, '0')}${'0'.repeat(16)}`.slice(0, 32);
    const jobDir = join(root, jobId);
    const client = startLocally(env.graph, { ...env.executionOptions('local recovery pruning'), jobId, storeOptions: { s3Endpoint: proxy.endpoint, s3PathStyle: true, s3Credentials: s3.credentials } });
    const sharedOf = async (location: string): Promise<string[]> => (await checkpointMetadata(location)).files.filter((f) => f.shared === true).map((f) => f.path).sort();
    /** Takes a checkpoint and waits until the local copies are what it refers to (the subtasks prune once told it completed). */
    const checkpointAndSettle = async (): Promise<{ copies: string[]; written: string[] }> => {
      const location = await client.triggerCheckpoint();
      const referred = await sharedOf(location);
      await until(() => JSON.stringify(sharedCopies(jobDir)) === JSON.stringify(referred));
      const written = (await checkpointMetadata(location)).files.filter((f) => f.shared === true && f.written !== false).map((f) => f.path);
      return { copies: sharedCopies(jobDir), written };
    };
    await until(() => (client.recordCounts().get('sums')?.in ?? 0) === RECORDS / 2);
    const first = await checkpointAndSettle();
    const second = await checkpointAndSettle(); // nothing changed: refers to the first's keyed blocks
    const third = await checkpointAndSettle();
    // The second's files (operator state and empty deltas) were superseded by the third's: their copies are gone.
    for (const f of second.written) expect(third.copies).not.toContain(f);
    expect(first.written.some((f) => third.copies.includes(f))).toBe(true);
    holding = false;
    await until(() => (client.recordCounts().get('sums')?.in ?? 0) === (3 * RECORDS) / 4);
    const fourth = await checkpointAndSettle();
    for (const f of [...second.written, ...third.written]) expect(fourth.copies).not.toContain(f);
    await client.cancel();
    await client.result;
    // The job ended: its local directory, shared copies included, is gone.
    expect(existsSync(jobDir)).toBe(false);
  });

  it('with the flag off creates no local directory, and a restore reads the shared files from S3', async () => {
    const root = dirs.next('root');
    let atFailure = 0;
    const run = await runJob({ dir: `s3://${BUCKET}/ck-inc-off`, incremental: true, localRootDir: root }, () => {
      atFailure = proxy.requests.length;
    });
    expect(run.attempts).toBe(2);
    expect(run.localAtFailure).toEqual([]);
    expect(existsSync(root)).toBe(false);
    expect(reads(atFailure).data.length).toBeGreaterThan(0);
    expectExactlyOnce(run.committed);
  });
});
