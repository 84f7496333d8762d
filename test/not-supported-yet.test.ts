/**
 * What tsflink accepts by Flink's name but has not built yet is refused through the real binary
 * in one line that says so and what to use instead, with exit code 1 (a configuration or job
 * command error, as in Flink), before anything is submitted. `-m` names a port where nothing
 * listens, so a command that wrongly got past its refusal fails differently instead of starting
 * a cluster.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunResult, runFlink } from './support/run-flink.ts';
import { freePort } from './support/test-cluster.ts';
import { tempDir } from './support/temp-dir.ts';

const JOB = join(ROOT, 'examples', 'per-user-count.ts');
const JOB_ID = '0123456789abcdef0123456789abcdef';
let dir: Awaited<ReturnType<typeof tempDir>>;
let nobody: string;

beforeAll(async () => {
  dir = await tempDir('tsflink-unbuilt-');
  nobody = `127.0.0.1:${await freePort()}`;
});
afterAll(async () => {
  await dir.remove();
});

function expectRefusal(result: RunResult, line: string): void {
  const context = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.stderr, context).toBe(`${line}\n`);
  expect(result.stdout, context).toBe('');
  expect(result.code, context).toBe(1);
}

describe('refused until built', () => {
  it.each([
    ['execution.checkpointing.unaligned.enabled=true', 'execution.checkpointing.unaligned.enabled: true is not supported yet (tsflink has no unaligned checkpoints); use false, the default: checkpoints are aligned'],
    ['execution.checkpointing.aligned-checkpoint-timeout=30 s', 'execution.checkpointing.aligned-checkpoint-timeout: 30000 ms is not supported yet (it applies to unaligned checkpoints, which tsflink does not have); leave it unset'],
  ])('flink run -D %s', async (define, line) => {
    expectRefusal(await runFlink(['run', '-m', nobody, '-D', define, JOB], { cwd: dir.path }), line);
  });

  it('the same keys in config.yaml', async () => {
    const cwd = join(dir.path, 'with-config');
    const conf = join(cwd, 'conf');
    await mkdir(conf, { recursive: true });
    await writeFile(join(conf, 'config.yaml'), 'execution:\n  checkpointing:\n    unaligned:\n      enabled: true\n');
    expectRefusal(
      await runFlink(['run', '-m', nobody, JOB], { cwd }),
      'execution.checkpointing.unaligned.enabled: true is not supported yet (tsflink has no unaligned checkpoints); use false, the default: checkpoints are aligned',
    );
  });

  it('--json on the commands that run a JobManager or a TaskManager in the foreground (they write logs)', async () => {
    expectRefusal(await runFlink(['taskmanager', '-m', nobody, '--json'], { cwd: dir.path }), 'flink taskmanager writes a log, not JSON: leave out --json (GET /taskmanagers on the JobManager gives them as JSON)');
    expectRefusal(await runFlink(['jobmanager', '--json'], { cwd: dir.path }), 'flink jobmanager writes a log, not JSON: leave out --json (the REST API answers in JSON)');
  });
});
