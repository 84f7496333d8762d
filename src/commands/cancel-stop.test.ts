/**
 * Flink's `cancel -s [dir]` (deprecated cancel with a savepoint), `stop -detached` and
 * `savepoint -detached`, against a
 * fake JobManager that answers the few REST calls they make and records them.
 */
import { type Server, createServer } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandEnv } from '../cli.ts';
import { runCancel } from './cancel.ts';
import { runSavepoint } from './savepoint.ts';
import { runStop } from './stop.ts';

const JOB = '0123456789abcdef0123456789abcdef';
const LOCATION = 'file:/sp/savepoint-012345-aaaaaaaaaaaa';

let server: Server;
let port: number;
/** `METHOD path body`, in the order the JobManager got them. */
const requests: string[] = [];
let cancelled = false;
/** The JobManager forgets the job as soon as it ends (jobstore.expiration-time: 0): its id is then a 404. */
let forgetsEnded = false;
/** The savepoint asked for was a cancel-with-savepoint. */
let cancelJob = false;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}${body === '' ? '' : ` ${body}`}`);
      const answer = (status: number, json: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST' && req.url === `/jobs/${JOB}/savepoints`) {
        cancelJob = (JSON.parse(body) as { 'cancel-job'?: boolean })['cancel-job'] === true;
        return answer(202, { 'request-id': 'sp-trigger' });
      }
      // As Flink's JobMaster, simplified: the stop's savepoint completes and the job ends at once.
      if (req.method === 'POST' && req.url === `/jobs/${JOB}/stop`) {
        cancelled = true;
        return answer(202, { 'request-id': 'stop-trigger' });
      }
      if (req.method === 'GET' && req.url === `/jobs/${JOB}/savepoints/stop-trigger`) return answer(200, { status: { id: 'COMPLETED' }, operation: { location: LOCATION } });
      if (req.method === 'GET' && req.url === `/jobs/${JOB}/savepoints/sp-trigger`) {
        // As Flink's JobMaster: a cancel-with-savepoint cancels the job once its savepoint is complete.
        cancelled ||= cancelJob;
        return answer(200, { status: { id: 'COMPLETED' }, operation: { location: LOCATION } });
      }
      if (req.method === 'POST' && req.url === '/savepoint-disposal') return answer(202, { 'request-id': 'dispose-trigger' });
      if (req.method === 'GET' && req.url === '/savepoint-disposal/dispose-trigger') return answer(200, { status: { id: 'COMPLETED' }, operation: {} });
      if (req.method === 'PATCH' && req.url === `/jobs/${JOB}?mode=cancel`) {
        cancelled = true;
        return answer(202, {});
      }
      if (req.method === 'GET' && req.url === `/jobs/${JOB}`) {
        if (cancelled && forgetsEnded) return answer(404, { errors: [`Job ${JOB} not found: no job with this id ran on this cluster, or it ended longer ago than the cluster keeps finished jobs (jobstore.expiration-time, jobstore.max-capacity). 'flink list -a' shows the jobs it knows.`] });
        return answer(200, { jid: JOB, state: cancelled ? 'CANCELED' : 'RUNNING' });
      }
      answer(404, { errors: [`no ${req.method} ${req.url}`] });
    });
  });
  port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests.length = 0;
  cancelled = false;
  cancelJob = false;
  forgetsEnded = false;
});

function env(config: Record<string, string> = {}): CommandEnv & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    ctx: { stdout: { write: (t) => void (out += t) }, stderr: { write: (t) => void (err += t) }, env: {}, cwd: '/here' },
    config: new Map(Object.entries(config)),
    out: () => out,
    err: () => err,
  };
}

describe("cancel -s: Flink's one cancel-with-savepoint call, the JobManager cancels once the savepoint completes", () => {
  it('into the directory given, with the job id after it', async () => {
    const e = env();
    expect(await runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, withSavepoint: 'sps', type: 'native' }, e)).toBe(0);
    expect(requests).toEqual([
      `POST /jobs/${JOB}/savepoints {"target-directory":"/here/sps","cancel-job":true,"formatType":"NATIVE"}`,
      `GET /jobs/${JOB}/savepoints/sp-trigger`,
      `GET /jobs/${JOB}`,
    ]);
    expect(e.out()).toBe(
      `DEPRECATION WARNING: Cancelling a job with savepoint is deprecated. Use "stop" instead.\nCancelling job ${JOB} with NATIVE savepoint to sps.\nCancelled job ${JOB}. Savepoint stored in ${LOCATION}.\n`,
    );
    expect(e.err()).toBe('');
  });

  it('-s <jobId> alone: the value is the job id and the savepoint goes to the default directory, as in Flink', async () => {
    const e = env({ 'execution.checkpointing.savepoint-dir': '/default-sp' });
    expect(await runCancel(undefined, { define: [], jobmanager: `127.0.0.1:${port}`, withSavepoint: JOB, json: true }, e)).toBe(0);
    expect(requests[0]).toBe(`POST /jobs/${JOB}/savepoints {"target-directory":"/default-sp","cancel-job":true,"formatType":"CANONICAL"}`);
    expect(e.out()).toBe(`${JSON.stringify({ jobid: JOB, state: 'CANCELED', location: LOCATION })}\n`);
    expect(e.err()).toBe('DEPRECATION WARNING: Cancelling a job with savepoint is deprecated. Use "stop" instead.\n');
  });

  it('-s with no directory, one configured: Flink names it the default savepoint directory', async () => {
    const e = env({ 'execution.checkpointing.savepoint-dir': '/default-sp' });
    expect(await runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, withSavepoint: true }, e)).toBe(0);
    expect(requests[0]).toBe(`POST /jobs/${JOB}/savepoints {"target-directory":"/default-sp","cancel-job":true,"formatType":"CANONICAL"}`);
    expect(e.out()).toBe(
      `DEPRECATION WARNING: Cancelling a job with savepoint is deprecated. Use "stop" instead.\nCancelling job ${JOB} with CANONICAL savepoint to default savepoint directory.\nCancelled job ${JOB}. Savepoint stored in ${LOCATION}.\n`,
    );
  });

  it('-s with no directory anywhere leaves it to the job, and says so', async () => {
    const e = env();
    expect(await runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, withSavepoint: true }, e)).toBe(0);
    expect(requests[0]).toBe(`POST /jobs/${JOB}/savepoints {"cancel-job":true,"formatType":"CANONICAL"}`);
    expect(e.out()).toMatch(new RegExp(`\\nCancelling job ${JOB} with CANONICAL savepoint to default savepoint directory\\.\n`));
  });

  it('-type without -s is refused in one line, and nothing is asked of the JobManager', async () => {
    await expect(runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, type: 'native' }, env())).rejects.toThrow(
      '-type native is the format of the savepoint that -s [targetDirectory] takes before cancelling, and -s is not given: add it, or leave out -type (flink stop -type native <jobId> is the savepoint and stop that Flink recommends).',
    );
    expect(requests).toEqual([]);
  });
});

describe('stop, attached', () => {
  it("prints Flink's stopWithSavepoint lines: the trigger and the wait before the path", async () => {
    const e = env();
    expect(await runStop(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, savepointPath: '/sp' }, e)).toBe(0);
    expect(e.out()).toBe(
      `Suspending job "${JOB}" with a CANONICAL savepoint.\nTriggering stop-with-savepoint for job ${JOB}.\nWaiting for response...\nSavepoint completed. Path: ${LOCATION}\n`,
    );
  });

  it('--drain: Draining, then the same lines', async () => {
    const e = env();
    expect(await runStop(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, savepointPath: '/sp', drain: true }, e)).toBe(0);
    expect(e.out()).toBe(
      `Draining job "${JOB}" with a CANONICAL savepoint.\nTriggering stop-with-savepoint for job ${JOB}.\nWaiting for response...\nSavepoint completed. Path: ${LOCATION}\n`,
    );
  });

  it('--json: only the JSON document', async () => {
    const e = env();
    expect(await runStop(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, savepointPath: '/sp', json: true }, e)).toBe(0);
    expect(e.out()).toBe(`${JSON.stringify({ jobid: JOB, location: LOCATION })}\n`);
  });
});

describe('stop -detached', () => {
  it("triggers the stop, prints Flink's lines with the trigger id and returns without waiting", async () => {
    const e = env();
    expect(await runStop(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, savepointPath: '/sp', detached: true }, e)).toBe(0);
    expect(requests).toEqual([`POST /jobs/${JOB}/stop {"targetDirectory":"/sp","drain":false,"formatType":"CANONICAL"}`]);
    expect(e.out()).toBe(
      `Suspending job "${JOB}" with a CANONICAL savepoint.\nTriggering stop-with-savepoint in detached mode for job ${JOB}.\nSuccessfully trigger stop-with-savepoint in detached mode, triggerId: stop-trigger\n`,
    );
  });

  it('--json: the trigger id as JSON', async () => {
    const e = env();
    expect(await runStop(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, detached: true, json: true }, e)).toBe(0);
    expect(e.out()).toBe(`${JSON.stringify({ jobid: JOB, 'request-id': 'stop-trigger' })}\n`);
  });
});

describe('savepoint -detached', () => {
  it("triggers the savepoint and prints Flink's two lines with the trigger id, without waiting", async () => {
    const e = env();
    expect(await runSavepoint(JOB, '/sp', { define: [], jobmanager: `127.0.0.1:${port}`, detached: true }, e)).toBe(0);
    expect(requests).toEqual([`POST /jobs/${JOB}/savepoints {"target-directory":"/sp","cancel-job":false,"formatType":"CANONICAL"}`]);
    expect(e.out()).toBe(`Triggering savepoint in detached mode for job ${JOB}.\nSuccessfully trigger manual savepoint, triggerId: sp-trigger\n`);
  });

  it('--json: the trigger id as JSON', async () => {
    const e = env();
    expect(await runSavepoint(JOB, '/sp', { define: [], jobmanager: `127.0.0.1:${port}`, detached: true, json: true }, e)).toBe(0);
    expect(e.out()).toBe(`${JSON.stringify({ jobid: JOB, 'request-id': 'sp-trigger' })}\n`);
  });
});

describe('savepoint, attached', () => {
  it("prints Flink's triggerSavepoint lines", async () => {
    const e = env();
    expect(await runSavepoint(JOB, '/sp', { define: [], jobmanager: `127.0.0.1:${port}` }, e)).toBe(0);
    expect(e.out()).toBe(
      `Triggering savepoint for job ${JOB}.\nWaiting for response...\nSavepoint completed. Path: ${LOCATION}\nYou can resume your program from this savepoint with the run command.\n`,
    );
  });
});

describe('savepoint -d', () => {
  it("prints Flink's disposeSavepoint lines with the path as given, and sends it made absolute", async () => {
    const e = env();
    expect(await runSavepoint(undefined, undefined, { define: [], jobmanager: `127.0.0.1:${port}`, dispose: 'sps/savepoint-012345-aaaaaaaaaaaa' }, e)).toBe(0);
    expect(requests).toEqual(['POST /savepoint-disposal {"savepoint-path":"/here/sps/savepoint-012345-aaaaaaaaaaaa"}', 'GET /savepoint-disposal/dispose-trigger']);
    expect(e.out()).toBe("Disposing savepoint 'sps/savepoint-012345-aaaaaaaaaaaa'.\nWaiting for response...\nSavepoint 'sps/savepoint-012345-aaaaaaaaaaaa' disposed.\n");
    expect(e.err()).toBe('');
  });

  it('--json: only the JSON document, with the absolute path', async () => {
    const e = env();
    expect(await runSavepoint(undefined, undefined, { define: [], jobmanager: `127.0.0.1:${port}`, dispose: 'sps/savepoint-012345-aaaaaaaaaaaa', json: true }, e)).toBe(0);
    expect(e.out()).toBe(`${JSON.stringify({ disposed: '/here/sps/savepoint-012345-aaaaaaaaaaaa' })}\n`);
  });
});

describe('a job the JobManager forgets as soon as it ends (jobstore.expiration-time: 0)', () => {
  it('cancel says it cancelled the job, as Flink, which does not wait for the end, rather than that the job is unknown', async () => {
    forgetsEnded = true;
    const e = env();
    expect(await runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}` }, e)).toBe(0);
    expect(e.out()).toBe(`Cancelling job ${JOB}.\nCancelled job ${JOB}.\n`);
  });

  it('cancel --json gives a null state, the end state being unknown', async () => {
    forgetsEnded = true;
    const e = env();
    expect(await runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, json: true }, e)).toBe(0);
    expect(e.out()).toBe(`${JSON.stringify({ jobid: JOB, state: null })}\n`);
  });

  it('cancel -s says where the savepoint is', async () => {
    forgetsEnded = true;
    const e = env();
    expect(await runCancel(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, withSavepoint: '/sp' }, e)).toBe(0);
    expect(e.out()).toMatch(new RegExp(`Cancelled job ${JOB}\\. Savepoint stored in ${LOCATION}\\.\\n$`));
  });

  it('stop says where the savepoint is', async () => {
    forgetsEnded = true;
    const e = env();
    expect(await runStop(JOB, { define: [], jobmanager: `127.0.0.1:${port}`, savepointPath: '/sp' }, e)).toBe(0);
    expect(e.out()).toBe(`Suspending job "${JOB}" with a CANONICAL savepoint.\nTriggering stop-with-savepoint for job ${JOB}.\nWaiting for response...\nSavepoint completed. Path: ${LOCATION}\n`);
  });
});
