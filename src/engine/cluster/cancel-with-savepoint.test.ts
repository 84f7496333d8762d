/**
 * REST `POST /jobs/:id/savepoints` with `cancel-job: true` is Flink's cancel-with-savepoint: the
 * JobMaster cancels the job once the savepoint is complete, so it ends CANCELED (a stop-with-savepoint
 * ends FINISHED); a savepoint that fails leaves it running. A real Dispatcher and JobMaster behind the
 * REST server, with a stand-in JobMaster thread that answers the protocol and ends the job only when
 * the JobMaster tells it to (cancel) or a stop asks it to (FINISHED): no job code, no timing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type StandInCluster, standInClusters, until } from './stand-in-cluster-test-support.ts';

const STAND_IN = `
import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.type === 'start') parentPort.postMessage({ type: 'status', status: 'RUNNING' });
  if (m.type === 'cancel') parentPort.postMessage({ type: 'terminated', status: 'CANCELED' });
  if (m.type !== 'savepoint') return;
  if (m.targetDirectory.endsWith('/full-disk')) return parentPort.postMessage({ type: 'operation-failed', requestId: m.requestId, message: 'Savepoint 1 was declined: no space left on device' });
  parentPort.postMessage({ type: 'operation-done', requestId: m.requestId, location: m.targetDirectory + '/savepoint-1', checkpointId: 1 });
  if (m.stop) parentPort.postMessage({ type: 'terminated', status: 'FINISHED' });
});
`;

const clusters = standInClusters('cancel-with-savepoint', STAND_IN);
let cluster: StandInCluster;

beforeAll(async () => {
  cluster = await clusters.start();
});

afterAll(() => clusters.closeAll());

const TERMINAL = new Set(['CANCELED', 'FINISHED', 'FAILED']);

async function finalState(jobid: string): Promise<unknown> {
  let state: unknown;
  await until(async () => TERMINAL.has((state = (await cluster.call('GET', `/jobs/${jobid}`)).json.state) as string));
  return state;
}

async function runningJob(): Promise<string> {
  const { jobid } = await cluster.dispatcher.submit({ jobFile: import.meta.filename, programArgs: [] });
  await until(async () => (await cluster.call('GET', `/jobs/${jobid}`)).json.state === 'RUNNING');
  return jobid;
}

async function savepointResult(jobid: string, trigger: string): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> = {};
  await until(async () => {
    answer = (await cluster.call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).json;
    return (answer.status as { id: string }).id === 'COMPLETED';
  });
  return answer.operation as Record<string, unknown>;
}

it('cancel-job: true: the savepoint completes, then the job is CANCELED, as Flink', async () => {
  const jobid = await runningJob();
  const trigger = await cluster.call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/sp', 'cancel-job': true });
  expect(trigger.status).toBe(202);
  expect(await savepointResult(jobid, trigger.json['request-id'] as string)).toEqual({ location: 'file:/sp/savepoint-1' });
  expect(await finalState(jobid)).toBe('CANCELED');
  expect(cluster.log).toContain(`job ${jobid}: Savepoint stored in file:/sp/savepoint-1. Now cancelling ${jobid}.`);
});

it('cancel-job: true whose savepoint fails: the failure is the answer and the job runs on', async () => {
  const jobid = await runningJob();
  const trigger = await cluster.call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/full-disk', 'cancel-job': true });
  expect(await savepointResult(jobid, trigger.json['request-id'] as string)).toMatchObject({ 'failure-cause': { message: 'Savepoint 1 was declined: no space left on device' } });
  expect((await cluster.call('GET', `/jobs/${jobid}`)).json.state).toBe('RUNNING');
  await cluster.call('PATCH', `/jobs/${jobid}?mode=cancel`);
  expect(await finalState(jobid)).toBe('CANCELED');
});

it('a plain savepoint leaves the job running, and a stop ends it FINISHED', async () => {
  const jobid = await runningJob();
  const trigger = await cluster.call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/sp', 'cancel-job': false });
  await savepointResult(jobid, trigger.json['request-id'] as string);
  expect((await cluster.call('GET', `/jobs/${jobid}`)).json.state).toBe('RUNNING');
  await cluster.call('POST', `/jobs/${jobid}/stop`, { targetDirectory: '/sp' });
  expect(await finalState(jobid)).toBe('FINISHED');
});
