/**
 * Local recovery (`execution.checkpointing.local-backup.enabled`) against a real S3 server
 * (s3rver) behind a proxy that records every request: a job checkpoints to s3://, fails once after
 * three checkpoints completed, and restarts (its restart strategy). With local copies the restore
 * reads no data file from S3 (only `_metadata`, which stays the truth about the checkpoint); a
 * damaged copy is read from S3 instead; either way the committed output is exactly once.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { failingPassThrough, heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { CheckpointConfig } from '../../src/engine/checkpoint/checkpoint-config.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
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
  const source = new DataGeneratorSource<Visit>({ count: RECORDS, splits: 4, generate: (i) => ({ user: `u${i % USERS}`, n: 1 }) });
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .configureCheckpointing({ interval: 20, ...checkpoint })
    .setRestartStrategy({ type: 'fixed-delay', attempts: 1, delayMs: 0 });
  env
    // Each reader stops halfway until three checkpoints completed, so the failure always has records left.
    .fromSource(heldAfter(source, RECORDS / 4, () => completed < 3), 'visits')
    .uid('visits')
    .map(failingPassThrough<Visit>((attempt) => (attempt === 0 && completed >= 3 ? 0 : Number.POSITIVE_INFINITY)))
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
  return { committed: store.all(), restoredFrom, localAtFailure, latestAtFailure, jobDir, attempts: result.attempts };
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
      // Logged (by the check of the restore point and by the restore), never thrown.
      const fallbacks = logged.filter((l) => l.startsWith('local recovery: not using the local copy'));
      for (const file of damaged) expect(fallbacks.some((l) => l.includes(file))).toBe(true);
      expect(logged.join('')).toMatch(/CRC-32 [0-9a-f]+ differs from the recorded [0-9a-f]+/);
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
