/**
 * Flink's cancel with a savepoint (REST `cancel-job: true`, `flink cancel -s`): the savepoint, then
 * the job ends CANCELED (not FINISHED, as a stop-with-savepoint does); a savepoint that fails leaves
 * the job running. The source is held open by heldAtEnd, so the job is running whenever the test asks.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { heldAtEnd } from '../../fixtures/jobs/fail-injection.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { DataGeneratorSource, StreamExecutionEnvironment } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

/** `tolerableFailures`: a savepoint its subtasks decline counts as a failed checkpoint, as in Flink; here it must not fail the job. */
function heldJob(checkpoints: string, tolerableFailures = 0) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    // No periodic checkpoint comes during the test: what it shows is the savepoint's.
    .configureCheckpointing({ interval: 3_600_000, dir: checkpoints, tolerableFailures });
  env
    .fromSource(heldAtEnd(new DataGeneratorSource({ count: 100, generate: (i) => `w${i}` }), () => true), 'words')
    .keyBy((w) => w)
    .map((w) => w)
    .sinkTo({ invoke() {} });
  return startLocally(env.graph, env.executionOptions('held'));
}

it('the savepoint is complete, then the job is CANCELED', async () => {
  const dir = await tempDir();
  try {
    const client = heldJob(join(dir.path, 'checkpoints'));
    const location = await client.cancelWithSavepoint(join(dir.path, 'savepoints'));
    expect(existsSync(join(location, '_metadata'))).toBe(true);
    expect((await client.result).status).toBe('CANCELED');
    expect(client.status()).toBe('CANCELED');
  } finally {
    await dir.remove();
  }
}, 60_000);

it('a savepoint that fails leaves the job running, and the next one can cancel it', async () => {
  const dir = await tempDir();
  try {
    const client = heldJob(join(dir.path, 'checkpoints'), 1);
    const file = join(dir.path, 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(client.cancelWithSavepoint(join(file, 'savepoints'))).rejects.toThrow(/^Asynchronous task savepoint 1 failed: /);
    expect(client.status()).toBe('RUNNING');
    const location = await client.cancelWithSavepoint(join(dir.path, 'savepoints'));
    expect(existsSync(join(location, '_metadata'))).toBe(true);
    expect((await client.result).status).toBe('CANCELED');
  } finally {
    await dir.remove();
  }
}, 60_000);
