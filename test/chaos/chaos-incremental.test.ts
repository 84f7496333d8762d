/**
 * The short incremental chaos run of every `npm test` (issue 13): 6 kills over 30k orders with
 * incremental checkpoints on the lmdb backend, through `npm run chaos`'s own script. Seed 19's
 * schedule damages shared files twice: a JobManager kill that damages a file the newest
 * checkpoint wrote into `<jobId>/shared/`, and a `shared-corrupt` kill that damages one an
 * older checkpoint wrote and the newest still refers to; recovery must skip every checkpoint that
 * refers to the damaged file each time (at least two fallbacks) and the sinks stay exactly once.
 * The long runs (100 kills per backend) are the same script with `--kills 100 --incremental`.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/run-flink.ts';

const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

it('6 kills with incremental checkpoints on lmdb, shared files damaged twice: both sinks committed exactly the failure-free output', async () => {
  const args = ['--kills', '6', '--records', '30000', '--seed', '19', '--incremental', '--backend', 'lmdb'];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(TSX, [join(ROOT, 'scripts', 'chaos.ts'), ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout: out, stderr: err }),
    );
  });
  console.log(stderr + stdout);
  expect(code, stderr).toBe(0);
  const [summary, fallbacks] = stdout.trim().split('\n');
  expect(summary).toMatch(/^kills=6 recoveries=6 lost=0 duplicated=0 mismatched=0$/);
  expect(Number(/^fallbacks=(\d+) reemitted=\d+$/.exec(fallbacks ?? '')?.[1])).toBeGreaterThanOrEqual(2);
  expect(stderr).toMatch(/lmdb backend, incremental checkpoints/);
  // Both damages hit a file under the job's shared/ directory, referred to by the checkpoints named.
  expect(stderr.match(/damaged \S+\/shared\/\S+\.tsfs \((flipped a byte|truncated to half); referred to by checkpoints [\d, ]+\)/g)).toHaveLength(2);
  for (const kind of ['taskmanager', 'jobmanager-corrupt', 'shared-corrupt', 'snapshot-metadata', 'snapshot-data']) {
    expect(stderr).toMatch(new RegExp(`kill \\d+: ${kind}; running again`));
  }
}, 300_000);
