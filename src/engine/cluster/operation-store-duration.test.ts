/**
 * rest.async.store-duration over REST: a completed savepoint's, checkpoint's or disposal's result
 * can be polled for that long after it completed, then its trigger id is unknown and the status
 * answers 404 with Flink's text; one still in progress is kept. A real Dispatcher and JobMaster
 * behind the REST server, a stand-in JobMaster thread (as in cancel-with-savepoint.test.ts), and
 * the Dispatcher's clock a variable the test moves.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Dispatcher } from './dispatcher.ts';
import { JobStore } from './job-store.ts';
import { type RestServer, startRestServer } from './rest-server.ts';

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
let dir: string;
let dispatcher: Dispatcher;
let server: RestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsflink-operation-store-'));
  mkdirSync(join(dir, 'log'));
  writeFileSync(join(dir, 'stand-in-jobmaster.mjs'), STAND_IN);
  dispatcher = new Dispatcher({
    store: new JobStore(dir),
    workingDirectory: dir,
    logDirectory: join(dir, 'log'),
    jobMasterEntry: join(dir, 'stand-in-jobmaster.mjs'),
    config: { 'rest.async.store-duration': '1 min' },
    storeOptions: {},
    log: () => undefined,
    onShutdown: () => undefined,
    now: () => now,
  });
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

async function completed(path: string): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> = {};
  await until(async () => {
    answer = (await call('GET', path)).json;
    return (answer.status as { id: string } | undefined)?.id === 'COMPLETED';
  });
  return answer;
}

let jobid: string;

beforeAll(async () => {
  ({ jobid } = await dispatcher.submit({ jobFile: import.meta.filename, programArgs: [] }));
  await until(async () => (await call('GET', `/jobs/${jobid}`)).json.state === 'RUNNING');
});

it("a savepoint's result is kept for the duration after it completed, then its trigger id is unknown (404)", async () => {
  const trigger = (await call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/sp' })).json['request-id'] as string;
  expect((await completed(`/jobs/${jobid}/savepoints/${trigger}`)).operation).toEqual({ location: 'file:/sp/savepoint-1' });
  now += MINUTE - 1;
  expect((await call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).json.operation).toEqual({ location: 'file:/sp/savepoint-1' });
  now += 1;
  expect(await call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).toEqual({ status: 404, json: { errors: [`There is no savepoint operation with triggerId=${trigger} for job ${jobid}.`] } });
});

it('a savepoint still in progress is kept however long it takes', async () => {
  const trigger = (await call('POST', `/jobs/${jobid}/savepoints`, { 'target-directory': '/held' })).json['request-id'] as string;
  now += 60 * MINUTE;
  expect(await call('GET', `/jobs/${jobid}/savepoints/${trigger}`)).toEqual({ status: 200, json: { status: { id: 'IN_PROGRESS' } } });
});

it("a checkpoint's result likewise", async () => {
  const trigger = (await call('POST', `/jobs/${jobid}/checkpoints`, {})).json['request-id'] as string;
  expect((await completed(`/jobs/${jobid}/checkpoints/${trigger}`)).operation).toEqual({ checkpointId: 7 });
  now += MINUTE;
  expect(await call('GET', `/jobs/${jobid}/checkpoints/${trigger}`)).toEqual({ status: 404, json: { errors: [`There is no checkpoint operation with triggerId=${trigger} for job ${jobid}.`] } });
});

it("a savepoint disposal's result likewise", async () => {
  const trigger = (await call('POST', '/savepoint-disposal', { 'savepoint-path': join(dir, 'no-such-savepoint') })).json['request-id'] as string;
  expect((await completed(`/savepoint-disposal/${trigger}`)).operation).toMatchObject({ 'failure-cause': { message: expect.stringContaining('is not a savepoint') } });
  now += MINUTE;
  expect(await call('GET', `/savepoint-disposal/${trigger}`)).toEqual({ status: 404, json: { errors: [`Operation not found under key: ${trigger}`] } });
});
