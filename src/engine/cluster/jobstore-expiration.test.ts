/**
 * jobstore.expiration-time and jobstore.max-capacity over REST: a finished job answers for that
 * long after it ended, then its id is Flink's unknown job (404), it leaves `/jobs/overview`, its
 * record file goes, and `/overview` still counts it (Flink's FileExecutionGraphInfoStore counts
 * every job that ended). Running jobs are never dropped. A real Dispatcher and JobMaster behind
 * the REST server, a stand-in JobMaster thread (stand-in-cluster-test-support.ts), and the
 * Dispatcher's clock a variable the test moves.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from './job-store.ts';
import { type StandInCluster as Cluster, standInClusters, until } from './stand-in-cluster-test-support.ts';

/** Runs until cancelled; `stop` takes its savepoint and finishes. */
const STAND_IN = `
import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.type === 'start') parentPort.postMessage({ type: 'status', status: 'RUNNING' });
  if (m.type === 'cancel') parentPort.postMessage({ type: 'terminated', status: 'CANCELED' });
  if (m.type === 'savepoint') {
    parentPort.postMessage({ type: 'operation-done', requestId: m.requestId, location: m.targetDirectory + '/savepoint-1', checkpointId: 1 });
    if (m.stop) parentPort.postMessage({ type: 'terminated', status: 'FINISHED' });
  }
});
`;

const HOUR = 3_600_000;
let now = 1_000_000;

const clusters = standInClusters('jobstore', STAND_IN);

function startCluster(config: Record<string, string>, dir?: string): Promise<Cluster> {
  return clusters.start({ config, now: () => now, recover: true, ...(dir === undefined ? {} : { dir }) });
}

afterAll(() => clusters.closeAll());

async function state(cluster: Cluster, jobid: string): Promise<unknown> {
  return (await cluster.call('GET', `/jobs/${jobid}`)).json.state;
}

async function running(cluster: Cluster): Promise<string> {
  const { jobid } = await cluster.dispatcher.submit({ jobFile: import.meta.filename, programArgs: [] });
  await until(async () => (await state(cluster, jobid)) === 'RUNNING');
  return jobid;
}

async function cancelled(cluster: Cluster): Promise<string> {
  const jobid = await running(cluster);
  expect((await cluster.call('PATCH', `/jobs/${jobid}?mode=cancel`)).status).toBe(202);
  await until(async () => (await state(cluster, jobid)) === 'CANCELED');
  return jobid;
}

const unknownJob = (jobid: string): { status: number; json: unknown } => ({
  status: 404,
  json: { errors: [`Job ${jobid} not found: no job with this id ran on this cluster, or it ended longer ago than the cluster keeps finished jobs (jobstore.expiration-time, jobstore.max-capacity). 'flink list -a' shows the jobs it knows.`] },
});

const listed = async (cluster: Cluster): Promise<unknown[]> => ((await cluster.call('GET', '/jobs/overview')).json.jobs as { jid: string }[]).map((j) => j.jid);

describe('jobstore.expiration-time', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ 'jobstore.expiration-time': '3600', 'rest.async.store-duration': '2 h' });
  });

  it('a finished job answers for the expiration time after it ended, then as an unknown job, and its record file is deleted', async () => {
    const jobid = await cancelled(cluster);
    now += HOUR - 1;
    expect(await state(cluster, jobid)).toBe('CANCELED');
    expect(await listed(cluster)).toContain(jobid);
    now += 1;
    expect(await cluster.call('GET', `/jobs/${jobid}`)).toEqual(unknownJob(jobid));
    expect(await cluster.call('GET', `/jobs/${jobid}/checkpoints`)).toEqual(unknownJob(jobid));
    expect(await cluster.call('PATCH', `/jobs/${jobid}?mode=cancel`)).toEqual(unknownJob(jobid));
    expect(await listed(cluster)).not.toContain(jobid);
    expect((await cluster.call('GET', '/jobs')).json.jobs).not.toContainEqual(expect.objectContaining({ id: jobid }));
    await until(async () => !existsSync(join(cluster.dir, 'jobs', `${jobid}.json`)));
    expect(cluster.log).toContainEqual(`job ${jobid} (jobstore-expiration.test) CANCELED is forgotten: it ended longer ago than jobstore.expiration-time (3600 s)`);
  });

  it('/overview still counts a dropped job, as Flink\'s file job store counts every job that ended', async () => {
    const before = (await cluster.call('GET', '/overview')).json['jobs-cancelled'] as number;
    const jobid = await cancelled(cluster);
    expect((await cluster.call('GET', '/overview')).json['jobs-cancelled']).toBe(before + 1);
    now += HOUR;
    expect((await cluster.call('GET', '/jobs/overview')).json.jobs).not.toContainEqual(expect.objectContaining({ jid: jobid }));
    expect((await cluster.call('GET', '/overview')).json['jobs-cancelled']).toBe(before + 1);
  });

  it('a running job is kept however long it runs', async () => {
    const jobid = await running(cluster);
    now += 100 * HOUR;
    expect(await state(cluster, jobid)).toBe('RUNNING');
    // Its age counts from when it ended, not from when it started.
    expect((await cluster.call('PATCH', `/jobs/${jobid}?mode=cancel`)).status).toBe(202);
    await until(async () => (await state(cluster, jobid)) === 'CANCELED');
    now += HOUR - 1;
    expect(await state(cluster, jobid)).toBe('CANCELED');
  });

  it("a stop's savepoint result can still be polled for rest.async.store-duration after its job is dropped", async () => {
    const jobid = await running(cluster);
    const trigger = (await cluster.call('POST', `/jobs/${jobid}/stop`, { targetDirectory: join(cluster.dir, 'sp') })).json['request-id'] as string;
    await until(async () => (await state(cluster, jobid)) === 'FINISHED');
    now += HOUR;
    expect(await cluster.call('GET', `/jobs/${jobid}`)).toEqual(unknownJob(jobid));
    // The stop's result is the operation cache's (2 h here), not the job store's.
    const status = await cluster.call('GET', `/jobs/${jobid}/savepoints/${trigger}`);
    expect(status).toEqual({ status: 200, json: { status: { id: 'COMPLETED' }, operation: { location: `file:${join(cluster.dir, 'sp')}/savepoint-1` } } });
    now += HOUR;
    // Flink's unknown trigger, as for a job still known: its Dispatcher asks the operation cache alone.
    expect(await cluster.call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).toEqual({ status: 404, json: { errors: [`There is no savepoint operation with triggerId=${trigger} for job ${jobid}.`] } });
    expect(await cluster.call('GET', `/jobs/${jobid}/checkpoints/${trigger}`)).toEqual({ status: 404, json: { errors: [`There is no checkpoint operation with triggerId=${trigger} for job ${jobid}.`] } });
  });
});

describe('jobstore.max-capacity', () => {
  it('keeps the finished jobs that ended last, and never counts running ones', async () => {
    const cluster = await startCluster({ 'jobstore.max-capacity': '2' });
    const run = await running(cluster);
    const [a, b, c] = [await cancelled(cluster), await cancelled(cluster), await cancelled(cluster)];
    expect(await cluster.call('GET', `/jobs/${a}`)).toEqual(unknownJob(a));
    expect(new Set(await listed(cluster))).toEqual(new Set([run, b, c]));
    expect(cluster.log).toContainEqual(`job ${a} (jobstore-expiration.test) CANCELED is forgotten: jobstore.max-capacity keeps the 2 that ended last`);
  });
});

describe('a restarted JobManager', () => {
  it('loads the finished jobs still within the expiration time, aged from when they ended, and drops the others', async () => {
    const first = await startCluster({});
    const older = await cancelled(first);
    const newer = await cancelled(first);
    await clusters.stop(first);
    // Records carry the wall clock's end time; set them apart, and the next JobManager's clock
    // just past the older job's hour.
    const store = new JobStore(first.dir);
    const end = 1_700_000_000_000;
    for (const record of await store.loadAll()) await store.save({ ...record, endTime: record.jobId === older ? end : end + 10 });
    now = end + HOUR;
    const second = await startCluster({}, first.dir);
    expect(await second.call('GET', `/jobs/${older}`)).toEqual(unknownJob(older));
    await until(async () => !existsSync(join(first.dir, 'jobs', `${older}.json`)));
    now += 9;
    expect(await state(second, newer)).toBe('CANCELED');
    now += 1;
    expect(await second.call('GET', `/jobs/${newer}`)).toEqual(unknownJob(newer));
  });
});
