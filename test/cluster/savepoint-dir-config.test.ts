/**
 * `flink savepoint` and `flink stop` given no directory write to the client's configured
 * `execution.checkpointing.savepoint-dir` (or its older name `state.savepoints.dir`, or the one
 * in config.yaml); a directory given as the argument or with -p wins over it. The jobs run no
 * savepoint directory of their own, so without the client's key the cluster has none to use.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunResult } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId, untilListedRunning } from '../support/test-cluster.ts';

const ORDER_TOTALS = join(ROOT, 'examples', 'order-totals.ts');

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** order-totals held open after its last order (nothing creates the file) until it is stopped. */
async function submit(name: string): Promise<string> {
  const result = await cluster.flink(['run', '-d', ORDER_TOTALS, '--output', join(cluster.scratch, name), '--records', '100', '--hold-until', join(cluster.scratch, 'never')]);
  expect(result.code, result.stderr).toBe(0);
  const id = submittedJobId(result.stdout);
  await untilListedRunning(cluster, id, 'order-totals');
  return id;
}

/** The savepoint directory the command printed, checked to be under `dir` and to hold a _metadata. */
function expectSavepointIn(result: RunResult, dir: string, id: string): void {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const path = /Savepoint completed\. Path: file:(\S+)/.exec(result.stdout)?.[1];
  expect(path).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/savepoint-${id.slice(0, 6)}-[0-9a-f]{12}$`));
  expect(existsSync(join(path!, '_metadata'))).toBe(true);
}

describe('the client-side savepoint directory', () => {
  it('is where flink savepoint writes when given none, under either name or from config.yaml; an argument or -p wins', async () => {
    const id = await submit('out-savepoint');
    const dir = (name: string): string => join(cluster.scratch, name);
    expectSavepointIn(await cluster.flink(['savepoint', '-D', `execution.checkpointing.savepoint-dir=${dir('by-key')}`, id]), dir('by-key'), id);
    expectSavepointIn(await cluster.flink(['savepoint', '-D', `state.savepoints.dir=${dir('by-old-key')}`, id]), dir('by-old-key'), id);
    const confCwd = dir('with-conf');
    await mkdir(join(confCwd, 'conf'), { recursive: true });
    await writeFile(join(confCwd, 'conf', 'config.yaml'), `execution.checkpointing.savepoint-dir: ${dir('by-file')}\n`);
    expectSavepointIn(await cluster.flink(['savepoint', id], { cwd: confCwd }), dir('by-file'), id);
    expectSavepointIn(await cluster.flink(['savepoint', '-D', `execution.checkpointing.savepoint-dir=${dir('unused')}`, id, dir('by-argument')]), dir('by-argument'), id);
    expectSavepointIn(await cluster.flink(['savepoint', '-D', `execution.checkpointing.savepoint-dir=${dir('unused')}`, '-p', dir('by-p'), id]), dir('by-p'), id);
    expect(existsSync(dir('unused'))).toBe(false);
  }, 120_000);

  it('is where flink stop writes when given none, also with a lone -p', async () => {
    // One job at a time (each stop ends its job): the cluster's slots are not the point here.
    const dir = (name: string): string => join(cluster.scratch, name);
    const first = await submit('out-stop-1');
    expectSavepointIn(await cluster.flink(['stop', '-D', `execution.checkpointing.savepoint-dir=${dir('stop-by-key')}`, first]), dir('stop-by-key'), first);
    // As Flink: `stop -p <jobId>` takes the -p value as the job id and writes to the default directory.
    const second = await submit('out-stop-2');
    expectSavepointIn(await cluster.flink(['stop', '-D', `state.savepoints.dir=${dir('stop-by-old-key')}`, '-p', second]), dir('stop-by-old-key'), second);
    const third = await submit('out-stop-3');
    expectSavepointIn(await cluster.flink(['stop', '-D', `execution.checkpointing.savepoint-dir=${dir('unused')}`, '-p', dir('stop-by-p'), third]), dir('stop-by-p'), third);
    expect(existsSync(dir('unused'))).toBe(false);
  }, 180_000);
});
