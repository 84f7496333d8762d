/**
 * Task slots as worker threads, through the executor a cluster job's worker uses: subtasks of a
 * real job file in two threads, channels between them over MessagePorts, the coordinator on
 * this thread. Every run must commit exactly the lines a failure-free run commits, through
 * checkpoints, a task failure inside one slot, and a savepoint restored at another parallelism.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobSettingsFromConfig } from '../../src/engine/cluster/job-settings.ts';
import { prepareJob } from '../../src/engine/cluster/prepare-job.ts';
import { threadSlotsDeployment } from '../../src/engine/cluster/taskmanager/thread-slots-deployment.ts';
import { type JobClient, startLocally } from '../../src/engine/runtime/local-executor.ts';
import { committedLines } from '../support/cluster-probes.ts';
import { KEYED_LINES_JOB, expectedKeyedLines, keyedLinesConfig } from '../support/jobs/keyed-lines.ts';
import { tempDir } from '../support/temp-dir.ts';

const JOB = KEYED_LINES_JOB;
const KEYS = 50;

let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir('tsflink-slots-');
});

afterAll(async () => {
  await dir?.remove();
});

async function start(options: { records: number; out: string; parallelism: number; slots: number; failAt?: number; restoreFrom?: string; failures?: string[] }): Promise<JobClient> {
  const args = [String(options.records), String(KEYS), options.out, ...(options.failAt === undefined ? [] : [String(options.failAt)])];
  const config = keyedLinesConfig(join(dir.path, 'checkpoints'));
  const prepared = await prepareJob(JOB, args, jobSettingsFromConfig(config, options.parallelism));
  return startLocally(prepared.graph, {
    ...prepared.options,
    ...(options.restoreFrom === undefined ? {} : { restoreFrom: options.restoreFrom }),
    events: { onAttemptFailed: (f) => options.failures?.push(f.message) },
    deployment: threadSlotsDeployment({
      slots: options.slots,
      source: { jobFile: JOB, programArgs: args, config: Object.fromEntries(config), parallelism: options.parallelism },
      allowNonRestoredState: false,
    }),
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('task slots in worker threads', () => {
  it('p=2 on 2 slots commits every line exactly once through checkpoints', async () => {
    const out = join(dir.path, 'plain');
    writeFileSync(`${out}.release`, '');
    const result = await (await start({ records: 20_000, out, parallelism: 2, slots: 2 })).result;
    expect(result.status).toBe('FINISHED');
    expect(result.attempts).toBe(1);
    expect(result.checkpoints).toBeGreaterThanOrEqual(1);
    expect((await committedLines(out)).sort()).toEqual(expectedKeyedLines(20_000, KEYS));
  }, 90_000);

  it('a task failure in one slot restarts the attempt from its checkpoint; the output stays exactly once', async () => {
    const out = join(dir.path, 'failing');
    writeFileSync(`${out}.release`, '');
    const failures: string[] = [];
    const result = await (await start({ records: 20_000, out, parallelism: 2, slots: 2, failAt: 6_000, failures })).result;
    expect(result.status).toBe('FINISHED');
    expect(result.attempts).toBe(2);
    // The cause, not the other slot's closed channel that followed from it.
    expect(failures).toEqual(['Keyed Process -> Sink: Sink (2/2): Error: failing at record 6000 on purpose']);
    expect((await committedLines(out)).sort()).toEqual(expectedKeyedLines(20_000, KEYS));
  }, 90_000);

  it('a savepoint of p=2 on 2 slots restores at p=3 (two subtasks sharing a slot), exactly once across both runs', async () => {
    const out = join(dir.path, 'rescaled');
    const first = await start({ records: 20_000, out, parallelism: 2, slots: 2 });
    // Held open after its last record: counts reach the executor about once a second.
    await until('the first run to count records', () => (first.recordCounts().get('count')?.in ?? 0) > 0);
    const savepoint = await first.triggerSavepoint(join(dir.path, 'savepoints'));
    await first.cancel();
    expect(first.status()).toBe('CANCELED');
    writeFileSync(`${out}.release`, '');
    const second = await (await start({ records: 20_000, out, parallelism: 3, slots: 2, restoreFrom: savepoint })).result;
    expect(second.status).toBe('FINISHED');
    expect((await committedLines(out)).sort()).toEqual(expectedKeyedLines(20_000, KEYS));
  }, 120_000);
});
