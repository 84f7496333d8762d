/**
 * Subtasks in slots of two TaskManagers (real TCP between them, MessagePorts inside each), with
 * the coordinator in this process: every run must commit exactly the lines a failure-free run
 * commits, also when a TaskManager is lost mid-run and the job goes on in the other one's slots.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobSettingsFromConfig } from '../../src/engine/cluster/job-settings.ts';
import { prepareJob } from '../../src/engine/cluster/prepare-job.ts';
import { type RunningTaskManager, runTaskManager } from '../../src/engine/cluster/taskmanager/task-manager.ts';
import { type SlotAssignment, taskManagerDeployment } from '../../src/engine/cluster/taskmanager/task-manager-deployment.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { committedLines } from '../support/cluster-probes.ts';
import { KEYED_LINES_JOB, expectedKeyedLines, keyedLinesConfig } from '../support/jobs/keyed-lines.ts';
import { tempDir } from '../support/temp-dir.ts';

const JOB = KEYED_LINES_JOB;
const KEYS = 50;
const RECORDS = 20_000;

let dir: { path: string; remove: () => Promise<void> };
const log: string[] = [];
/** No JobManager here: registration is not what this file tests. */
const noJobManager = (async () => new Response('{}', { status: 200 })) as typeof fetch;

async function taskManager(slots: number): Promise<RunningTaskManager> {
  return runTaskManager({ slots, jobManagerUrl: 'http://127.0.0.1:1', bindHost: '127.0.0.1', advertisedHost: '127.0.0.1', port: 0, heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 5_000, log: (l) => log.push(l), fetch: noJobManager });
}

beforeAll(async () => {
  dir = await tempDir('tsflink-tm-slots-');
});

afterAll(async () => {
  await dir?.remove();
});

async function run(out: string, acquireSlots: (count: number) => Promise<readonly SlotAssignment[]>, failAt?: number) {
  const args = [String(RECORDS), String(KEYS), out, ...(failAt === undefined ? [] : [String(failAt)])];
  const config = keyedLinesConfig(join(dir.path, 'checkpoints'));
  const prepared = await prepareJob(JOB, args, jobSettingsFromConfig(config, 2));
  return startLocally(prepared.graph, {
    ...prepared.options,
    deployment: taskManagerDeployment({ source: { jobFile: JOB, programArgs: args, config: Object.fromEntries(config), parallelism: 2 }, allowNonRestoredState: false, acquireSlots, heartbeatTimeoutMs: 5_000 }),
  });
}

const slotOf = (tm: RunningTaskManager): SlotAssignment => ({ taskManagerId: tm.id, host: '127.0.0.1', port: tm.port });

describe('slots in TaskManagers', () => {
  it('p=2 with one slot in each of two TaskManagers (TCP between them) commits every line exactly once', async () => {
    const [a, b] = [await taskManager(1), await taskManager(1)];
    try {
      const out = join(dir.path, 'spread');
      writeFileSync(`${out}.release`, '');
      const client = await run(out, async (count) => [slotOf(a!), slotOf(b!)].slice(0, count));
      const result = await client.result;
      expect(result.status).toBe('FINISHED');
      expect(result.checkpoints).toBeGreaterThanOrEqual(1);
      expect((await committedLines(out)).sort()).toEqual(expectedKeyedLines(RECORDS, KEYS));
    } finally {
      await a!.stop();
      await b!.stop();
    }
  }, 90_000);

  it('a TaskManager lost mid-run fails the attempt; the job restarts on the slots it is given again (the other TaskManager) and commits exactly once', async () => {
    const [a, b] = [await taskManager(2), await taskManager(2)];
    try {
      const out = join(dir.path, 'lost');
      let attempts = 0;
      const client = await run(out, async () => {
        attempts += 1;
        // First attempt: one slot in each; later ones: both in `a` (b is gone).
        return attempts === 1 ? [slotOf(a!), slotOf(b!)] : [slotOf(a!), slotOf(a!)];
      });
      const deadline = Date.now() + 60_000;
      while ((client.recordCounts().get('count')?.in ?? 0) === 0) {
        if (Date.now() > deadline) throw new Error('the job did not start counting');
        await new Promise((r) => setTimeout(r, 20));
      }
      await b!.stop(); // its slots' threads end and its connections close: the TaskManager is gone
      writeFileSync(`${out}.release`, '');
      const result = await client.result;
      expect(result.status).toBe('FINISHED');
      expect(result.attempts).toBeGreaterThanOrEqual(2);
      expect((await committedLines(out)).sort()).toEqual(expectedKeyedLines(RECORDS, KEYS));
    } finally {
      await a!.stop();
      await b!.stop().catch(() => undefined);
    }
  }, 120_000);
});
