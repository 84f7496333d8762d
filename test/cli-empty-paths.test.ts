/**
 * An empty path argument (a script's unset variable) is refused in one line with the command's
 * bad-argument exit code, instead of being resolved to the working directory or `/`. In process
 * through `main()`; the cluster commands are refused before they reach a cluster.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import type { CliContext } from '../src/output/context.ts';
import { ROOT } from './support/run-flink.ts';
import { tempDir } from './support/temp-dir.ts';

const SNAPSHOT = join(ROOT, 'fixtures', 'savepoints', 'v1', 'all-kinds');
const JOB = join(ROOT, 'examples', 'per-user-count.ts');
const JOB_ID = '0123456789abcdef0123456789abcdef';
/**
 * No cluster there: a command that got past its checks would fail connecting, with another line.
 * Not port 1, which -m refuses up front as a port Node's fetch will not connect to.
 */
const NOWHERE = ['-m', '127.0.0.1:2'];

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    stdout: { write: (t) => void (out += t), isTTY: false },
    stderr: { write: (t) => void (err += t), isTTY: false },
    env: {},
    cwd: dir.path,
  };
  const code = await main(args, ctx);
  return { code, out, err };
}

const SNAPSHOT_EMPTY = 'the snapshot path is empty: give the snapshot directory or its _metadata file\n';
const TARGET_EMPTY = 'the savepoint target directory is empty: give a directory, or leave it out for execution.checkpointing.savepoint-dir\n';
const JOB_FILE_EMPTY = 'the job file path is empty: give the job module (.ts or .js)\n';

describe('an empty path', () => {
  it.each([
    ['inspect', ['inspect', ''], SNAPSHOT_EMPTY],
    ['verify', ['verify', ''], SNAPSHOT_EMPTY],
    ['diff <a>', ['diff', '', SNAPSHOT], SNAPSHOT_EMPTY],
    ['diff <b>', ['diff', SNAPSHOT, ''], SNAPSHOT_EMPTY],
    ['rekey <snapshot>', ['rekey', '', 'x', '--max-parallelism', '4'], SNAPSHOT_EMPTY],
    ['rekey <target>', ['rekey', SNAPSHOT, '', '--max-parallelism', '4'], 'the target directory is empty: give a directory that does not exist yet for the new savepoint\n'],
    ['gc', ['gc', '', '--dry-run', ...NOWHERE], 'the checkpoint directory is empty: give the directory of execution.checkpointing.dir, local or s3://\n'],
  ])('is refused by %s with exit 2', async (_name, args, message) => {
    expect(await run(args)).toEqual({ code: 2, out: '', err: message });
  });

  it.each([
    ['savepoint <jobId> ""', ['savepoint', JOB_ID, '', ...NOWHERE], TARGET_EMPTY],
    ['savepoint -p ""', ['savepoint', '-p', '', JOB_ID, ...NOWHERE], TARGET_EMPTY],
    ['savepoint -d ""', ['savepoint', '-d', '', ...NOWHERE], "the savepoint path is empty: give the savepoint's directory, as 'flink savepoint' printed it\n"],
    ['stop -p ""', ['stop', '-p', '', JOB_ID, ...NOWHERE], TARGET_EMPTY],
    ['run -s ""', ['run', ...NOWHERE, '-s', '', JOB], SNAPSHOT_EMPTY],
    ['run ""', ['run', ...NOWHERE, ''], JOB_FILE_EMPTY],
    ['info ""', ['info', ''], JOB_FILE_EMPTY],
    ['plan-restore "" <jobFile>', ['plan-restore', '', JOB], SNAPSHOT_EMPTY],
    ['plan-restore <snapshot> ""', ['plan-restore', SNAPSHOT, ''], JOB_FILE_EMPTY],
  ])('is refused by %s with exit 1, as Flink ends bad arguments', async (_name, args, message) => {
    expect(await run(args)).toEqual({ code: 1, out: '', err: message });
  });
});
