/**
 * Every error a user hits with the cluster commands, through the real binary against a real
 * cluster: each one exits with 1 (as Flink), prints ONE line on stderr (no stack trace) that
 * names the thing and says what to do.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunResult, runFlink } from '../support/run-flink.ts';
import { type TestCluster, freePort, startTestCluster, submittedJobId } from '../support/test-cluster.ts';
import { tempDir } from '../support/temp-dir.ts';

const TSFLINK = join(ROOT, 'src', 'index.ts');
const ORDER_TOTALS = join(ROOT, 'examples', 'order-totals.ts');
const ORDER_TOTALS_V2 = join(ROOT, 'examples', 'order-totals-v2.ts');
const PER_USER_COUNT = join(ROOT, 'examples', 'per-user-count.ts');
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef';
const IS_ROOT = process.getuid?.() === 0;

let cluster: TestCluster;
/** order-totals v1, slow enough to run for the whole file, checkpointing every 500 ms and retaining them. */
let running: string;
/** per-user-count, run to completion. */
let finished: string;
/** A savepoint of `running`. */
let savepoint: string;
let jobs: string;

/** Escapes a literal (a path, an id) for a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Exit code 1, exactly one line on stderr matching `pattern` (anchored), no stack trace. */
function expectOneLine(result: RunResult, pattern: RegExp): void {
  const context = `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.stderr.endsWith('\n'), context).toBe(true);
  expect(result.stderr.trimEnd().split('\n'), context).toHaveLength(1);
  expect(result.stderr, context).not.toMatch(/^\s+at /m);
  expect(result.stderr.trimEnd(), context).toMatch(pattern);
  expect(result.code, context).toBe(1);
}

/** `flink run` with the cluster's -D flags before the job file (after it they would be the job's arguments). */
function run(args: readonly string[]): Promise<RunResult> {
  return runFlink(['run', ...cluster.defines, ...args], { cwd: cluster.scratch });
}

async function jobIds(): Promise<string[]> {
  const listed = await cluster.flink(['list', '-a', '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return (JSON.parse(listed.stdout) as { jobs: { jid: string }[] }).jobs.map((j) => j.jid).sort();
}

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Command lines of all processes that mention `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text) && Number(pid) !== process.pid) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone
    }
  }
  return found;
}

const DISPOSE_ADVICE = re("'flink savepoint -d' takes the path of a savepoint, as 'flink savepoint' printed it.");

const NO_CLUSTER = (port: number): RegExp =>
  new RegExp(`^Could not connect to the JobManager at http://127\\.0\\.0\\.1:${port}: no cluster answers there\\. Start one with 'flink cluster start' \\(or 'flink run -d', which starts one\\), or point to yours with -m <host:port>\\.$`);

beforeAll(async () => {
  cluster = await startTestCluster();
  jobs = join(cluster.scratch, 'jobs');
  await mkdir(jobs);
  await writeFile(join(jobs, 'package.json'), JSON.stringify({ type: 'module' }));
  const [slow, done] = await Promise.all([
    run([
      '-d',
      '-D', 'execution.checkpointing.interval=500ms',
      '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION',
      '-D', 'execution.checkpointing.num-retained=1000',
      // Held open after its last order (nothing creates the file): running for every test here.
      ORDER_TOTALS, '--output', join(cluster.scratch, 'out-v1'), '--records', '1000000', '--rate', '200', '--hold-until', join(cluster.scratch, 'never'),
    ]),
    run([PER_USER_COUNT, '100']),
  ]);
  expect(slow.code, slow.stderr).toBe(0);
  expect(done.code, done.stderr).toBe(0);
  running = submittedJobId(slow.stdout);
  finished = submittedJobId(done.stdout);
  expect(done.stdout).toContain(`Job with JobID ${finished} has finished.`);
  await waitUntil('the job to run', async () => (await cluster.flink(['list', '-r'])).stdout.includes(running));
  const taken = await cluster.flink(['savepoint', running, join(cluster.scratch, 'savepoints')]);
  expect(taken.code, taken.stderr).toBe(0);
  savepoint = /Savepoint completed\. Path: (\S+)/.exec(taken.stdout)![1]!.replace(/^file:/, '');
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe.concurrent('no cluster at the address', () => {
  it('list and cancel name the address and say how to start a cluster', async () => {
    const port = await freePort();
    const [list, cancel] = await Promise.all([
      runFlink(['list', '-m', `127.0.0.1:${port}`]),
      runFlink(['cancel', UNKNOWN_ID, '-m', `127.0.0.1:${port}`]),
    ]);
    expectOneLine(list, NO_CLUSTER(port));
    expectOneLine(cancel, NO_CLUSTER(port));
  });

  it('run -m does not start a cluster at that address', async () => {
    const port = await freePort();
    const result = await runFlink(['run', '-m', `127.0.0.1:${port}`, PER_USER_COUNT, '10']);
    expectOneLine(result, new RegExp(`^Could not connect to the JobManager at http://127\\.0\\.0\\.1:${port}: no cluster answers there\\. Start one there with 'flink cluster start -m 127\\.0\\.0\\.1:${port}', or leave out -m and 'flink run' starts a local one\\.$`));
    expectOneLine(await runFlink(['list', '-m', `127.0.0.1:${port}`]), NO_CLUSTER(port));
  });
});

describe.concurrent('unknown job id', () => {
  it.each([
    ['cancel', ['cancel', UNKNOWN_ID]],
    ['savepoint', ['savepoint', UNKNOWN_ID, 'sp']],
    ['savepoint (no target)', ['savepoint', UNKNOWN_ID]],
    ['stop', ['stop', UNKNOWN_ID]],
    ['checkpoint', ['checkpoint', UNKNOWN_ID]],
  ])('%s names the id and flink list -a', async (_name, args) => {
    expectOneLine(await cluster.flink(args), new RegExp(`^Job ${UNKNOWN_ID} not found: no job with this id ran on this cluster, or it ended longer ago than the cluster keeps finished jobs \\(jobstore\\.expiration-time, jobstore\\.max-capacity\\)\\. 'flink list -a' shows the jobs it knows\\.$`));
  });

  it.each([['cancel'], ['savepoint'], ['stop'], ['checkpoint']])('%s with a malformed id says what a JobID is', async (command) => {
    expectOneLine(await cluster.flink([command, 'not-a-job']), /^'not-a-job' is not a job id: a JobID is 32 hexadecimal characters, as 'flink list' shows them\.$/);
  });
});

describe('job not running', () => {
  it('cancel, savepoint, stop and checkpoint of a FINISHED job say so and give its state', async () => {
    const target = join(cluster.scratch, 'sp-of-finished');
    const [cancel, sp, stop, chk] = await Promise.all([
      cluster.flink(['cancel', finished]),
      cluster.flink(['savepoint', finished, target]),
      cluster.flink(['stop', finished, '-p', target]),
      cluster.flink(['checkpoint', finished]),
    ]);
    const id = re(finished);
    expectOneLine(cancel, new RegExp(`^Job ${id} is not running: it is FINISHED, so there is nothing to cancel\\. 'flink list' shows the running jobs\\.$`));
    expectOneLine(sp, new RegExp(`^Job ${id} is not running: it is FINISHED, and a savepoint needs a running job\\. 'flink list' shows the running jobs\\.$`));
    expectOneLine(stop, new RegExp(`^Job ${id} is not running: it is FINISHED, and a savepoint needs a running job\\. 'flink list' shows the running jobs\\.$`));
    expectOneLine(chk, new RegExp(`^Job ${id} is not running: it is FINISHED, and a checkpoint needs a running job\\. 'flink list' shows the running jobs\\.$`));
    // Refused before anything was written.
    expect(existsSync(target)).toBe(false);
  });
});

describe.concurrent('savepoint target', () => {
  it('not writable: names the directory and the reason', async () => {
    const file = join(cluster.scratch, 'afile');
    await writeFile(file, 'not a directory');
    const underFile = join(file, 'sp');
    expectOneLine(
      await cluster.flink(['savepoint', running, underFile]),
      new RegExp(`^The savepoint target directory ${re(underFile)} is not writable \\(ENOTDIR\\)\\. Choose a directory the cluster can write to\\.$`),
    );
    // Same through -p, and for stop (which must leave the job running).
    expectOneLine(
      await cluster.flink(['stop', running, '-p', underFile]),
      new RegExp(`^The savepoint target directory ${re(underFile)} is not writable \\(ENOTDIR\\)\\. Choose a directory the cluster can write to\\.$`),
    );
    if (!IS_ROOT) {
      const readOnly = join(cluster.scratch, 'read-only');
      await mkdir(readOnly, { mode: 0o500 });
      await chmod(readOnly, 0o500);
      expectOneLine(
        await cluster.flink(['savepoint', running, readOnly]),
        new RegExp(`^The savepoint target directory ${re(readOnly)} is not writable \\(EACCES\\)\\. Choose a directory the cluster can write to\\.$`),
      );
    }
  });

  it('none given and none configured: Flink\'s message', async () => {
    const message = /^No savepoint directory configured\. You can either specify a directory when triggering this savepoint or configure a cluster-wide default via key 'execution\.checkpointing\.savepoint-dir'\.$/;
    const [sp, stop] = await Promise.all([cluster.flink(['savepoint', running]), cluster.flink(['stop', running])]);
    expectOneLine(sp, message);
    expectOneLine(stop, message);
    expect((await cluster.flink(['list', '-r'])).stdout).toContain(running);
  });
});

describe.concurrent('savepoint -d of something that is not a savepoint', () => {
  it('an empty directory', async () => {
    const empty = join(cluster.scratch, 'empty');
    await mkdir(empty);
    expectOneLine(
      await cluster.flink(['savepoint', '-d', empty]),
      new RegExp(`^${re(empty)} is not a savepoint: not a snapshot \\(no _metadata; an unfinished snapshot has none either\\)\\. ${DISPOSE_ADVICE}$`),
    );
    expect(existsSync(empty)).toBe(true);
  });

  it('a directory that does not exist', async () => {
    const missing = join(cluster.scratch, 'no-such-savepoint');
    expectOneLine(await cluster.flink(['savepoint', '-d', missing]), new RegExp(`^${re(missing)} is not a savepoint: no such file or directory\\. ${DISPOSE_ADVICE}$`));
  });

  it('a retained checkpoint', async () => {
    const taken = await cluster.flink(['checkpoint', running]);
    expect(taken.code, taken.stderr).toBe(0);
    const n = /Checkpoint\(CONFIGURED\) (\d+) for job/.exec(taken.stdout)![1]!;
    const chk = join(cluster.workDir, 'checkpoints', running, `chk-${n}`);
    expect(existsSync(join(chk, '_metadata'))).toBe(true);
    expectOneLine(
      await cluster.flink(['savepoint', '-d', chk]),
      new RegExp(`^${re(chk)} is a checkpoint, not a savepoint; 'flink savepoint -d' disposes only savepoints \\(checkpoints belong to their job\\)\\.$`),
    );
    expect(existsSync(join(chk, '_metadata'))).toBe(true);
  });

  it('the id of a running job', async () => {
    expectOneLine(
      await cluster.flink(['savepoint', '-d', running]),
      new RegExp(`^-d disposes of a savepoint; ${running} is a job id\\. To take a savepoint of that job, run: flink savepoint ${running} <targetDirectory>$`),
    );
  });

  it('a real savepoint is disposed of', async () => {
    const taken = await cluster.flink(['savepoint', running, join(cluster.scratch, 'to-dispose')]);
    expect(taken.code, taken.stderr).toBe(0);
    const path = /Savepoint completed\. Path: (\S+)/.exec(taken.stdout)![1]!.replace(/^file:/, '');
    expect(existsSync(join(path, '_metadata'))).toBe(true);
    const disposed = await cluster.flink(['savepoint', '-d', path]);
    expect(disposed.code, disposed.stderr).toBe(0);
    expect(disposed.stderr).toBe('');
    expect(disposed.stdout).toBe(`Disposing savepoint '${path}'.\nWaiting for response...\nSavepoint '${path}' disposed.\n`);
    expect(existsSync(path)).toBe(false);
  });
});

describe.concurrent('restore errors, reported before anything is submitted', () => {
  // The jobs before these tests; afterAll checks that none of them submitted one.
  let before: string[];
  beforeAll(async () => {
    before = await jobIds();
  });
  afterAll(async () => {
    expect(await jobIds()).toEqual(before);
  });

  it('an operator of the savepoint is missing: names it and --allowNonRestoredState', async () => {
    const result = await run(['-s', savepoint, ORDER_TOTALS_V2, '--output', join(cluster.scratch, 'out-v2')]);
    expectOneLine(
      result,
      new RegExp(`^Failed to rollback to checkpoint/savepoint ${re(savepoint)}\\. Cannot map checkpoint/savepoint state for operator dedup to the new program, because the operator is not available in the new program\\. If you want to allow to skip this, you can set the --allowNonRestoredState option on the CLI\\.$`),
    );
    expect(result.stdout).not.toContain('submitted');
  });

  it('the max parallelism changed: gives both values', async () => {
    const result = await run(['-s', savepoint, '-D', 'pipeline.max-parallelism=64', ORDER_TOTALS, '--output', join(cluster.scratch, 'out-mp')]);
    expectOneLine(
      result,
      new RegExp(`^Cannot restore operator '[a-z-]+' from ${re(savepoint)}: its state was written with max parallelism 128, but the new job runs it with max parallelism 64\\. .*set it back to 128 \\(pipeline\\.max-parallelism.*$`),
    );
    expect(result.stdout).not.toContain('submitted');
  });

  let missing: Promise<RunResult> | undefined;
  const missingSavepoint = (): Promise<RunResult> => (missing ??= run(['-s', join(cluster.scratch, 'no-such-savepoint'), ORDER_TOTALS, '--output', join(cluster.scratch, 'out-missing')]));

  it('the savepoint does not exist: names the path', async () => {
    const result = await missingSavepoint();
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    const path = re(join(cluster.scratch, 'no-such-savepoint'));
    expect(result.stderr).toMatch(new RegExp(`^Cannot restore the job from ${path}: ${path}: no such file or directory${re('. Give -s the directory of a savepoint or retained checkpoint (or its _metadata).')}\n$`));
    expect(result.code).not.toBe(0);
  });

  it('the savepoint does not exist: exits with 1', async () => {
    expect((await missingSavepoint()).code).toBe(1);
  });
});

describe.concurrent('job files', () => {
  let notFound: Promise<RunResult> | undefined;
  const runMissingJobFile = (): Promise<RunResult> => (notFound ??= run([join(jobs, 'nope.ts')]));

  it('not found', async () => {
    const result = await runMissingJobFile();
    expect(result.stderr).toBe(`Job file ${join(jobs, 'nope.ts')} not found.\n`);
    expect(result.code).not.toBe(0);
  });

  // loadJob's own exit code is 2 (a library error); `flink run` exits with 1, as Flink.
  it('not found: exits with 1', async () => {
    expect((await runMissingJobFile()).code).toBe(1);
  });

  it('a syntax error: file:line:column', async () => {
    const file = join(jobs, 'syntax.ts');
    await writeFile(file, 'export default (env: unknown) => {\n  const x = ;\n};\n');
    expectOneLine(await run([file]), new RegExp(`^Job file ${re(file)} could not be loaded: Unexpected ";" \\(${re(file)}:2:13\\)$`));
  });

  it('throws while building the job: file:line', async () => {
    const file = join(jobs, 'throws.ts');
    await writeFile(file, 'export default (): void => {\n  throw new Error(\'no config for this job\');\n};\n');
    expectOneLine(await run([file]), new RegExp(`^Job file ${re(file)} threw while building the job: no config for this job \\(${re(file)}:2(:\\d+)?\\)$`));
  });

  it('throws while being imported: file:line', async () => {
    const file = join(jobs, 'throws-on-import.ts');
    await writeFile(file, 'const n: number = 1;\nif (n === 1) throw new Error(\'cannot start\');\nexport default (): void => {};\n');
    expectOneLine(await run([file]), new RegExp(`^Job file ${re(file)} could not be loaded: cannot start \\(${re(file)}:2(:\\d+)?\\)$`));
  });

  it('no default export', async () => {
    const file = join(jobs, 'no-default.ts');
    await writeFile(file, 'export const job = 1;\n');
    expectOneLine(await run([file]), new RegExp(`^Job file ${re(file)} has no default export; export the job as: export default \\(env, args\\) => \\{ \\.\\.\\. \\}$`));
  });

  it('a .ts file loaded as CommonJS', async () => {
    const dir = join(cluster.scratch, 'cjs');
    await mkdir(dir);
    const file = join(dir, 'job.ts');
    await writeFile(file, `import { DataGeneratorSource } from ${JSON.stringify(TSFLINK)};\nexport default (env: any): void => {\n  env.fromSource(new DataGeneratorSource({ count: 1, generate: () => 1 }), 's');\n};\n`);
    expectOneLine(
      await run([file]),
      new RegExp(`^Job file ${re(file)} uses ES module syntax \\(import or export\\), but Node loads it as CommonJS: name it job\\.mts, or add "type": "module" to the package\\.json nearest to it\\.$`),
    );
  });

  it("a .cjs file calling require('tsflink'), which resolves only for import", async () => {
    const dir = join(cluster.scratch, 'cjs-require');
    await mkdir(dir);
    const file = join(dir, 'job.cjs');
    await writeFile(file, "const { DataGeneratorSource } = require('tsflink');\nmodule.exports = (env) => {\n  env.fromSource(new DataGeneratorSource({ count: 1, generate: () => 1 }), 's');\n};\n");
    expectOneLine(
      await run([file]),
      new RegExp(`^Job file ${re(file)} calls require\\('tsflink'\\), but tsflink can only be imported: use import \\.\\.\\. from 'tsflink' in an ES module; Node always loads a \\.cjs file as CommonJS: name it job\\.mjs\\.$`),
    );
  });
});

describe('cluster start', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  });

  it('port in use: names the port and rest.port, and leaves no JobManager behind', async () => {
    // Accepts connections and never answers: not a JobManager.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await new Promise<number>((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port)));
    const dir = await tempDir('tsflink-port-in-use-');
    try {
      const workDir = join(dir.path, 'jm');
      const result = await runFlink(['cluster', 'start', '-D', `rest.port=${port}`, '-D', `process.jobmanager.working-dir=${workDir}`], { cwd: dir.path });
      expectOneLine(result, new RegExp(`^Could not start the REST server on 127\\.0\\.0\\.1:${port}: the port is in use\\. Stop the process that uses it, or choose another port with -D rest\\.port=<port>\\. \\(log: ${re(workDir)}/log/jobmanager\\.log\\)$`));
      expect(result.stdout).toBe('Starting cluster.\n');
      await waitUntil('the JobManager to exit', () => processesMentioning(workDir).length === 0, 10_000);
      expect(existsSync(join(workDir, 'jobmanager.pid'))).toBe(false);
    } finally {
      for (const line of processesMentioning(join(dir.path, 'jm'))) process.kill(Number(line.split(':')[0]), 'SIGKILL');
      await dir.remove();
    }
  });
});

describe.concurrent('configuration', () => {
  it('a bad value names the key', async () => {
    const result = await runFlink(['list', '-D', 'rest.port=abc']);
    expectOneLine(result, /^rest\.port: 'abc' is not a whole number/);
  });

  it('an unknown key is warned about, and the command works', async () => {
    const result = await cluster.flink(['list', '-D', 'no.such.key=1']);
    expect(result.stderr).toBe("Warning: unknown configuration key 'no.such.key' is ignored.\n");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(running);
  });
});

