/**
 * REST `POST /jobs/:id/savepoints` with `cancel-job: true` is Flink's cancel-with-savepoint: the
 * JobMaster cancels the job once the savepoint is complete, so it ends CANCELED (a stop-with-savepoint
 * ends FINISHED); a savepoint that fails leaves it running. A real Dispatcher and JobMaster behind the
 * REST server, with a stand-in JobMaster thread that answers the protocol and ends the job only when
 * the JobMaster tells it to (cancel) or a stop asks it to (FINISHED): no job code, no timing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Dispatcher } from './dispatcher.ts';
import { JobStore } from './job-store.ts';
import { type RestServer, startRestServer } from './rest-server.ts';

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

let dir: string;
let dispatcher: Dispatcher;
let server: RestServer;
const log: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsflink-cancel-with-savepoint-'));
  mkdirSync(join(dir, 'log'));
  writeFileSync(join(dir, 'stand-in-jobmaster.mjs'), STAND_IN);
  dispatcher = new Dispatcher({ store: new JobStore(dir), workingDirectory: dir, logDirectory: join(dir, 'log'), jobMasterEntry: join(dir, 'stand-in-jobmaster.mjs'), config: {}, storeOptions: {}, log: (line) => void log.push(line), onShutdown: () => undefined });
  server = await startRestServer(dispatcher, { bindAddress: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server.close();
  await dispatcher.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Resolves once `done()` holds, checked at each turn of the event loop (the test's timeout bounds it). */
async function until(done: () => Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((r) => setImmediate(r));
}

const TERMINAL = new Set(['CANCELED', 'FINISHED', 'FAILED']);

async function finalState(jobid: string): Promise<unknown> {
  let state: unknown;
  await until(async () => TERMINAL.has((state = (await call('GET', `/jobs/${jobid}`)).json.state) as string));
  return state;
}

async function runningJob(): Promise<string> {
  const { jobid } = await dispatcher.submit({ jobFile: import.meta.filename, programArgs: [] });
  await until(async () => (await call('GET', `/jobs/${jobid}`)).json.state === 'RUNNING');
  return jobid;
}

async function savepointResult(jobid: string, trigger: string): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> = {};
  await until(async () => {
    answer = (await call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).json;
    return (answer.status as { id: string }).id === 'COMPLETED';
  });
  return answer.operation as Record<string, unknown>;
}

it('cancel-job: true: the savepoint completes, then the job is CANCELED, as Flink', async () => {
  const jobid = await runningJob();
  const trigger = await call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/sp', 'cancel-job': true });
  expect(trigger.status).toBe(202);
  expect(await savepointResult(jobid, trigger.json['request-id'] as string)).toEqual({ location: 'file:/sp/savepoint-1' });
  expect(await finalState(jobid)).toBe('CANCELED');
  expect(log).toContain(`job ${jobid}: Savepoint stored in file:/sp/savepoint-1. Now cancelling ${jobid}.`);
});

it('cancel-job: true whose savepoint fails: the failure is the answer and the job runs on', async () => {
  const jobid = await runningJob();
  const trigger = await call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/full-disk', 'cancel-job': true });
  expect(await savepointResult(jobid, trigger.json['request-id'] as string)).toMatchObject({ 'failure-cause': { message: 'Savepoint 1 was declined: no space left on device' } });
  expect((await call('GET', `/jobs/${jobid}`)).json.state).toBe('RUNNING');
  await call('PATCH', `/jobs/${jobid}?mode=cancel`);
  expect(await finalState(jobid)).toBe('CANCELED');
});

it('a plain savepoint leaves the job running, and a stop ends it FINISHED', async () => {
  const jobid = await runningJob();
  const trigger = await call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/sp', 'cancel-job': false });
  await savepointResult(jobid, trigger.json['request-id'] as string);
  expect((await call('GET', `/jobs/${jobid}`)).json.state).toBe('RUNNING');
  await call('POST', `/jobs/${jobid}/stop`, { targetDirectory: '/sp' });
  expect(await finalState(jobid)).toBe('FINISHED');
});
