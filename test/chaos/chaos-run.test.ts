/**
 * The short chaos run of every `npm test`: 10 kills over 100k orders, through `npm run chaos`'s
 * own script, on its default two TaskManagers, with a seed whose schedule has every kind of kill
 * (a TaskManager holding the job's slots, the JobManager, the JobManager with a damaged
 * checkpoint, a TaskManager inside a snapshot's data write, a commit and a restore, and the
 * JobManager inside its coordinator's `_metadata` write). The long run (100+ kills over 1M orders) is the same script.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/run-flink.ts';

const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

it('10 kills of every kind over 100k orders: both sinks committed exactly the failure-free output', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(TSX, [join(ROOT, 'scripts', 'chaos.ts'), '--kills', '10', '--records', '100000', '--seed', '38'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout: out, stderr: err }),
    );
  });
  console.log(stderr + stdout);
  expect(code, stderr).toBe(0);
  const [summary, fallbacks] = stdout.trim().split('\n');
  expect(summary).toMatch(/^kills=(\d+) recoveries=\1 lost=0 duplicated=0 mismatched=0$/);
  expect(Number(/^kills=(\d+)/.exec(summary!)?.[1])).toBeGreaterThanOrEqual(8);
  expect(fallbacks).toMatch(/^fallbacks=1 reemitted=\d+$/);
  for (const kind of ['taskmanager', 'jobmanager', 'jobmanager-corrupt', 'snapshot-data', 'snapshot-metadata', 'sink-commit', 'sink-restore']) {
    expect(stderr).toMatch(new RegExp(`kill \\d+: ${kind}; running again`));
  }
}, 540_000);
