/**
 * rest.async.store-duration over REST: a completed savepoint's, checkpoint's or disposal's result
 * can be polled for that long after it completed, then its trigger id is unknown and the status
 * answers 404 with Flink's text; one still in progress is kept. A real Dispatcher and JobMaster
 * behind the REST server, a stand-in JobMaster thread (stand-in-cluster-test-support.ts), and
 * the Dispatcher's clock a variable the test moves.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type StandInCluster, standInClusters, until } from './stand-in-cluster-test-support.ts';

/** Savepoints into `.../held` never complete; others complete at once, as do checkpoints. */
const STAND_IN = `
import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.type === 'start') parentPort.postMessage({ type: 'status', status: 'RUNNING' });
  if (m.type === 'cancel') parentPort.postMessage({ type: 'terminated', status: 'CANCELED' });
  if (m.type === 'checkpoint') parentPort.postMessage({ type: 'operation-done', requestId: m.requestId, location: '/chk/chk-7', checkpointId: 7 });
  if (m.type === 'savepoint' && !m.targetDirectory.endsWith('/held')) parentPort.postMessage({ type: 'operation-done', requestId: m.requestId, location: m.targetDirectory + '/savepoint-1', checkpointId: 1 });
});
`;

const MINUTE = 60_000;
let now = 1_000_000;
const clusters = standInClusters('operation-store', STAND_IN);
let cluster: StandInCluster;

beforeAll(async () => {
  cluster = await clusters.start({ config: { 'rest.async.store-duration': '1 min' }, now: () => now });
});

afterAll(() => clusters.closeAll());

async function completed(path: string): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> = {};
  await until(async () => {
    answer = (await cluster.call('GET', path)).json;
    return (answer.status as { id: string } | undefined)?.id === 'COMPLETED';
  });
  return answer;
}

let jobid: string;

beforeAll(async () => {
  ({ jobid } = await cluster.dispatcher.submit({ jobFile: import.meta.filename, programArgs: [] }));
  await until(async () => (await cluster.call('GET', `/jobs/${jobid}`)).json.state === 'RUNNING');
});

it("a savepoint's result is kept for the duration after it completed, then its trigger id is unknown (404)", async () => {
  const trigger = (await cluster.call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/sp' })).json['request-id'] as string;
  expect((await completed(`/jobs/${jobid}/savepoints/${trigger}`)).operation).toEqual({ location: 'file:/sp/savepoint-1' });
  now += MINUTE - 1;
  expect((await cluster.call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).json.operation).toEqual({ location: 'file:/sp/savepoint-1' });
  now += 1;
  expect(await cluster.call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).toEqual({ status: 404, json: { errors: [`There is no savepoint operation with triggerId=${trigger} for job ${jobid}.`] } });
});

it('a savepoint still in progress is kept however long it takes', async () => {
  const trigger = (await cluster.call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/held' })).json['request-id'] as string;
  now += 60 * MINUTE;
  expect(await cluster.call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).toEqual({ status: 200, json: { status: { id: 'IN_PROGRESS' } } });
});

it("a checkpoint's result likewise", async () => {
  const trigger = (await cluster.call('POST', `/jobs/${jobid}/checkpoints`, {})).json['request-id'] as string;
  expect((await completed(`/jobs/${jobid}/checkpoints/${trigger}`)).operation).toEqual({ checkpointId: 7 });
  now += MINUTE;
  expect(await cluster.call('GET', `/jobs/${jobid}/checkpoints/${trigger}`)).toEqual({ status: 404, json: { errors: [`There is no checkpoint operation with triggerId=${trigger} for job ${jobid}.`] } });
});

it("a savepoint disposal's result likewise", async () => {
  const trigger = (await cluster.call('POST', '/savepoint-disposal', { 'savepoint-path': join(cluster.dir, 'no-such-savepoint') })).json['request-id'] as string;
  expect((await completed(`/savepoint-disposal/${trigger}`)).operation).toMatchObject({ 'failure-cause': { message: expect.stringContaining('is not a savepoint') } });
  now += MINUTE;
  expect(await cluster.call('GET', `/savepoint-disposal/${trigger}`)).toEqual({ status: 404, json: { errors: [`Operation not found under key: ${trigger}`] } });
});
