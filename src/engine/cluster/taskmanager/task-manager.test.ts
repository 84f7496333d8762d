/**
 * What a TaskManager says about reaching its JobManager: one line when the JobManager does not
 * answer (not one per retry), and one when it registers. The JobManager is a stub `fetch` that
 * is down until it has refused a given number of requests, so nothing here depends on timing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningTaskManager, runTaskManager } from './task-manager.ts';

const JOB_MANAGER = 'http://127.0.0.1:1';

/** A JobManager that answers every request, except while `down` requests are still to be refused as fetch refuses an unreachable port. */
function stubJobManager(): { fetch: typeof fetch; goDown(requests: number): void; requests: string[] } {
  let down = 0;
  const requests: string[] = [];
  const stub = async (input: string | URL | Request): Promise<Response> => {
    requests.push(String(input));
    if (down > 0) {
      down -= 1;
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    }
    return new Response('{}', { status: 200 });
  };
  return { fetch: stub as typeof fetch, goDown: (n) => (down = n), requests };
}

let running: RunningTaskManager | undefined;
let blobs: string | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
  if (blobs !== undefined) await rm(blobs, { recursive: true, force: true });
});

async function start(jobManager: ReturnType<typeof stubJobManager>, log: string[]): Promise<RunningTaskManager> {
  blobs = await mkdtemp(join(tmpdir(), 'tsflink-tm-test-'));
  running = await runTaskManager({ slots: 1, jobManagerUrl: JOB_MANAGER, bindHost: '127.0.0.1', advertisedHost: '127.0.0.1', port: 0, heartbeatIntervalMs: 5, heartbeatTimeoutMs: 5_000, log: (l) => log.push(l), fetch: jobManager.fetch, blobStorageDirectory: blobs });
  return running;
}

/** Bounded by the test's timeout, not by a guess at how long it takes. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(5);
}

const notAnswering = /^TaskManager \S+: the JobManager at http:\/\/127\.0\.0\.1:1 does not answer \(connect ECONNREFUSED 127\.0\.0\.1:1\); retrying every 5 ms \(heartbeat\.interval\)$/;
const registeredLine = /^TaskManager \S+ registered with the JobManager at http:\/\/127\.0\.0\.1:1: 1 slots, control and data port \d+$/;

describe('a TaskManager reaching its JobManager', () => {
  it('says once that the JobManager does not answer while it retries, then that it registered', async () => {
    const jobManager = stubJobManager();
    const log: string[] = [];
    jobManager.goDown(6);
    await start(jobManager, log);
    await until(() => log.some((l) => registeredLine.test(l)));
    expect(jobManager.requests.filter((r) => r.endsWith('/taskmanagers')).length).toBeGreaterThanOrEqual(7);
    expect(log).toHaveLength(2);
    expect(log[0]).toMatch(notAnswering);
    expect(log[1]).toMatch(registeredLine);
  });

  it('says once that a JobManager it was registered with stopped answering, and registers again when it answers', async () => {
    const jobManager = stubJobManager();
    const log: string[] = [];
    await start(jobManager, log);
    expect(log).toHaveLength(1);
    jobManager.goDown(6);
    await until(() => log.filter((l) => registeredLine.test(l)).length === 2);
    expect(log).toHaveLength(3);
    expect(log[1]).toMatch(notAnswering);
    expect(log[2]).toMatch(registeredLine);
  });
});
