/**
 * Issue 10's defects of the CLI that need no cluster, through the real binary: a closed stdout,
 * exit codes and texts as Flink's CliFrontend has them, and an address that is not a JobManager.
 */
import { type Server, createServer } from 'node:http';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { runFlinkIntoClosedPipe } from './support/closed-pipe.ts';
import { ROOT, runFlink } from './support/run-flink.ts';
import { freePort } from './support/test-cluster.ts';
import { tempDir } from './support/temp-dir.ts';

const PER_USER_COUNT = join(ROOT, 'examples', 'per-user-count.ts');
const JOB_ID = '0123456789abcdef0123456789abcdef';

let dir: Awaited<ReturnType<typeof tempDir>>;
/** 20,000 keyed entries: `--entries` prints about 2 MB, far more than a pipe holds. */
let big: string;
/** State of per-user-count's 'per-user-count' operator, written with max parallelism 128. */
let maxParallelism128: string;

beforeAll(async () => {
  dir = await tempDir();
  big = join(dir.path, 'big');
  await writeSnapshot(new LocalObjectStore(big), {
    info: { kind: 'savepoint', jobId: 'abcdefabcdefabcdefabcdefabcdef01', jobName: 'big', checkpointId: 1, createdAt: Date.UTC(2026, 0, 1) },
    operators: [
      {
        uid: 'counts',
        parallelism: 1,
        maxParallelism: 128,
        keyedStates: [{ name: 'count', kind: 'value', entries: Array.from({ length: 20_000 }, (_, i) => [`user-${i}`, { n: i, note: 'x'.repeat(60) }] as const) }],
      },
    ],
  });
  maxParallelism128 = join(dir.path, 'max-parallelism-128');
  await writeSnapshot(new LocalObjectStore(maxParallelism128), {
    info: { kind: 'savepoint', jobId: 'abcdefabcdefabcdefabcdefabcdef02', jobName: 'per-user-count', checkpointId: 1, createdAt: Date.UTC(2026, 0, 1) },
    operators: [{ uid: 'per-user-count', parallelism: 2, maxParallelism: 128, keyedStates: [{ name: 'count', kind: 'value', entries: [['user-1', 3]] }] }],
  });
});
afterAll(async () => {
  await dir.remove();
});

describe.concurrent('a closed stdout ends the command quietly with exit 0', () => {
  it.each([
    ['inspect --entries', ['--entries']],
    ['inspect --keys', ['--keys']],
  ])('%s | head -1', async (_name, flags) => {
    const result = await runFlinkIntoClosedPipe(['inspect', big, ...flags]);
    expect(result.first).toMatch(/^\{"operator":"counts","state":"count","keyGroup":\d+,"key":"user-\d+"/);
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
  });
});

describe.concurrent('exit codes and texts as Flink', () => {
  it.each([
    ['0', 'The parallelism must be a positive number: 0\n'],
    ['abc', 'The parallelism must be a positive number: abc\n'],
    ['-3', 'The parallelism must be a positive number: -3\n'],
  ])('run -p %s: Flink\'s message and exit 1', async (value, message) => {
    const result = await runFlink(['run', '-p', value, PER_USER_COUNT]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: message });
  });

  it('run --claimMode (or -rm, ...) without a snapshot to claim: one line naming the flag as typed, exit 1, nothing submitted', async () => {
    const port = await freePort();
    const refusal = (flag: string, mode: string): string =>
      `${flag} ${mode} says who owns the snapshot the job starts from, and none is given: add -s <savepoint or retained checkpoint> (or set execution.state-recovery.path), or leave out ${flag}.\n`;
    for (const [args, named, mode] of [
      [['--claimMode', 'claim'], '--claimMode', 'claim'],
      [['-claimMode', 'claim'], '-claimMode', 'claim'],
      [['-cm', 'claim'], '-cm', 'claim'],
      [['-claimMode=claim'], '-claimMode', 'claim'],
      [['-rm', 'no_claim'], '-rm', 'no_claim'],
      [['--restoreMode', 'no_claim'], '--restoreMode', 'no_claim'],
      [['-restoreMode', 'no_claim'], '-restoreMode', 'no_claim'],
      // --claimMode wins over the older name, as in Flink, so it is the one named.
      [['-rm', 'claim', '-claimMode', 'no_claim'], '-claimMode', 'no_claim'],
    ] as const) {
      expect(await runFlink(['run', '-m', `127.0.0.1:${port}`, ...args, PER_USER_COUNT]), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: refusal(named, mode) });
    }
  });

  it('run -s / plan-restore of an incremental checkpoint copied away from its shared files: one line naming the first missing one, exit 1, nothing submitted', async () => {
    const fixture = join(ROOT, 'fixtures', 'savepoints', 'v3', 'incremental');
    const job = '3c0ffee0000000000000000000000003';
    const copied = join(dir.path, 'copied-away', 'chk-3');
    await cp(join(fixture, job, 'chk-3'), copied, { recursive: true });
    const port = await freePort();
    const run = await runFlink(['run', '-m', `127.0.0.1:${port}`, '-n', '-s', copied, PER_USER_COUNT, '10']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^Cannot restore the job from ${copied.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S+/${job}/shared/\\S+\\.tsfs is missing \\(_metadata refers to it as a shared file\\), and \\d+ more file\\(s\\); an incremental checkpoint reads its shared files from <checkpoint root>/${job}/shared/, two directories above it: restore it where it was written, or from a savepoint\\.\\n$`,
      ),
    );
    const plan = await runFlink(['plan-restore', '-n', copied, PER_USER_COUNT, '10']);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toBe(run.stderr);
    // Where it was written, the same checkpoint restores.
    expect((await runFlink(['plan-restore', '-n', join(fixture, job, 'chk-3'), PER_USER_COUNT, '10'])).code).toBe(0);
  });

  it('run -n without a snapshot to restore: one line and exit 1, nothing submitted', async () => {
    const port = await freePort();
    expect(await runFlink(['run', '-m', `127.0.0.1:${port}`, '-n', PER_USER_COUNT])).toEqual({
      code: 1,
      stdout: '',
      stderr: '-n (--allowNonRestoredState) lets the job skip state of the snapshot it starts from, and none is given: add -s <savepoint or retained checkpoint> (or set execution.state-recovery.path), or leave out -n.\n',
    });
  });

  it('savepoint -d with what only taking a savepoint uses: one line naming it and exit 1, nothing disposed', async () => {
    const port = await freePort();
    const dispose = ['savepoint', '-m', `127.0.0.1:${port}`, '-d', '/sp/savepoint-0a1b2c-3d4e5f6a7b8c'];
    expect(await runFlink([...dispose, '-type', 'native'])).toEqual({
      code: 1,
      stdout: '',
      stderr: '-d disposes of the savepoint it names and takes nothing else: leave out --type (or leave out -d to take a savepoint).\n',
    });
    expect(await runFlink([...dispose, JOB_ID, '/target', '--detached'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `-d disposes of the savepoint it names and takes nothing else: leave out the job id ${JOB_ID}, the target directory /target, --detached (or leave out -d to take a savepoint).\n`,
    });
  });

  it('list -D without a value: one line and exit 1', async () => {
    expect(await runFlink(['list', '-D', 'foo'])).toEqual({ code: 1, stdout: '', stderr: '-D foo: expected key=value\n' });
  });

  it('an unknown action, or none, is Flink\'s failure: its lines and exit 1', async () => {
    expect(await runFlink(['foo', '-p', '2'])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        '"foo" is not a valid action.\n\nValid actions are "inspect", "diff", "rekey", "verify", "gc", "run", "plan-restore", "info", "list", "savepoint", "stop", "cancel", "checkpoint", "cluster", "jobmanager" or "taskmanager".\n',
    });
    const none = await runFlink([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^Usage: flink \[options\] \[command\]\n[^]*\n  run \[options\] <jobFile> \[args\.\.\.\] [^]*\nPlease specify an action\.\n$/);
    expect((await runFlink(['--nope'])).code).toBe(1);
    expect(await runFlink(['--version'])).toMatchObject({ code: 0, stderr: '' });
  });

  it('an unknown option of a cluster command exits 1, of a file tool 2 (as diff(1))', async () => {
    expect((await runFlink(['list', '--nope'])).code).toBe(1);
    expect((await runFlink(['inspect', big, '--nope'])).code).toBe(2);
  });

  it('run -p above the restored max parallelism: Flink\'s message, nothing submitted', async () => {
    const port = await freePort();
    const result = await runFlink(['run', '-m', `127.0.0.1:${port}`, '-p', '200', '-s', maxParallelism128, PER_USER_COUNT, '10']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `Cannot restore operator 'per-user-count' from ${maxParallelism128}: the maximum parallelism (128) of the restored state is lower than the configured parallelism (200). ` +
        'Please reduce the parallelism of the task to be lower or equal to the maximum parallelism.\n',
    });
  });
});

describe.concurrent('stop: arguments as Flink takes them', () => {
  const noCluster = (port: number): string =>
    `Could not connect to the JobManager at http://127.0.0.1:${port}: no cluster answers there. Start one with 'flink cluster start' (or 'flink run -d', which starts one), or point to yours with -m <host:port>.\n`;

  it('-p <jobId> with no job id after it: the -p value is the job id', async () => {
    const port = await freePort();
    expect(await runFlink(['stop', '-m', `127.0.0.1:${port}`, '-p', JOB_ID])).toEqual({
      code: 1,
      stdout: `Suspending job "${JOB_ID}" with a CANONICAL savepoint.\nTriggering stop-with-savepoint for job ${JOB_ID}.\nWaiting for response...\n`,
      stderr: noCluster(port),
    });
  });

  it('--drain says Draining, as Flink', async () => {
    const port = await freePort();
    expect(await runFlink(['stop', '-m', `127.0.0.1:${port}`, '--drain', JOB_ID])).toEqual({
      code: 1,
      stdout: `Draining job "${JOB_ID}" with a CANONICAL savepoint.\nTriggering stop-with-savepoint for job ${JOB_ID}.\nWaiting for response...\n`,
      stderr: noCluster(port),
    });
  });

  it('no job id at all', async () => {
    expect(await runFlink(['stop'])).toEqual({ code: 1, stdout: '', stderr: 'Missing JobID. Usage: flink stop [-p [targetDirectory]] [--drain] <jobId>\n' });
  });

  it('cancel and checkpoint without a job id: one line, as stop and savepoint (cancel in Flink\'s words)', async () => {
    expect(await runFlink(['cancel'])).toEqual({ code: 1, stdout: '', stderr: 'Missing JobID. Specify a JobID to cancel a job.\n' });
    expect(await runFlink(['checkpoint', '--full'])).toEqual({ code: 1, stdout: '', stderr: 'Missing JobID. Usage: flink checkpoint [--full] <jobId>\n' });
  });

  it('--type native says NATIVE, as Flink', async () => {
    const port = await freePort();
    expect(await runFlink(['stop', '-m', `127.0.0.1:${port}`, '--type', 'native', JOB_ID])).toEqual({
      code: 1,
      stdout: `Suspending job "${JOB_ID}" with a NATIVE savepoint.\nTriggering stop-with-savepoint for job ${JOB_ID}.\nWaiting for response...\n`,
      stderr: noCluster(port),
    });
  });

  it('-type NATIVE: the type in any case, as Flink reads it; another word is refused', async () => {
    const port = await freePort();
    expect(await runFlink(['stop', '-m', `127.0.0.1:${port}`, '-type', 'NATIVE', JOB_ID])).toEqual({
      code: 1,
      stdout: `Suspending job "${JOB_ID}" with a NATIVE savepoint.\nTriggering stop-with-savepoint for job ${JOB_ID}.\nWaiting for response...\n`,
      stderr: noCluster(port),
    });
    expect(await runFlink(['savepoint', '-m', `127.0.0.1:${port}`, '--type', 'Canonical', JOB_ID])).toMatchObject({ code: 1, stderr: noCluster(port) });
    expect(await runFlink(['savepoint', '-m', `127.0.0.1:${port}`, '-type', 'nativ', JOB_ID])).toEqual({
      code: 1,
      stdout: '',
      stderr: "error: option '--type <type>' argument 'nativ' is invalid. Allowed choices are canonical, native.\n(run with --help for usage)\n",
    });
  });
});

describe('run -D with a relative directory', () => {
  let server: Server;
  let port: number;
  const submitted: { config?: Record<string, string> }[] = [];
  beforeAll(async () => {
    // Answers as a JobManager just enough for `flink run -d`, and keeps what was submitted.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (req.method === 'POST' && req.url === '/jobs') {
          submitted.push(JSON.parse(body) as { config?: Record<string, string> });
          res.end(JSON.stringify({ jobid: JOB_ID }));
        } else res.end(JSON.stringify({ taskmanagers: 0, 'flink-version': 'x' }));
      });
    });
    port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("resolves checkpoint, savepoint and local-recovery directories against run's directory, as -s, not the JobManager's", async () => {
    const cwd = join(dir.path, 'run-here');
    await mkdir(cwd);
    const defines = ['execution.checkpointing.dir=ckpts', 'state.savepoints.dir=./sp', 'taskmanager.state.local.root-dirs=../local', 'state.backend.rocksdb.localdir=tmp-rocks'];
    const result = await runFlink(['run', '-d', '-m', `127.0.0.1:${port}`, ...defines.flatMap((d) => ['-D', d]), PER_USER_COUNT, '10'], { cwd });
    expect(result, result.stderr).toMatchObject({ code: 0, stdout: `Job has been submitted with JobID ${JOB_ID}\n` });
    expect(submitted.at(-1)?.config).toEqual({
      'execution.checkpointing.dir': join(cwd, 'ckpts'),
      'state.savepoints.dir': join(cwd, 'sp'),
      'taskmanager.state.local.root-dirs': join(dir.path, 'local'),
      // A subtask's scratch directory is the TaskManager's own business: left as given.
      'state.backend.rocksdb.localdir': 'tmp-rocks',
    });
    const absolute = await runFlink(['run', '-d', '-m', `127.0.0.1:${port}`, '-D', 'execution.checkpointing.dir=s3://bucket/ckpts', '-D', 'execution.checkpointing.savepoint-dir=/abs/sp', PER_USER_COUNT, '10'], { cwd });
    expect(absolute.code, absolute.stderr).toBe(0);
    expect(submitted.at(-1)?.config).toEqual({ 'execution.checkpointing.dir': 's3://bucket/ckpts', 'execution.checkpointing.savepoint-dir': '/abs/sp' });
  });
});

describe('an address that is not a JobManager', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html><body>Not Found</body></html>');
    });
    port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['list', ['list'], 'GET /jobs/overview'],
    ['cancel', ['cancel', JOB_ID], `PATCH /jobs/${JOB_ID}?mode=cancel`],
  ])('%s says so, in one line', async (_name, args, request) => {
    const result = await runFlink([...args, '-m', `127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `The server at http://127.0.0.1:${port} does not answer as a tsflink/Flink JobManager (${request} gave HTTP 404 without Flink's JSON error). Point -m <host:port> at the JobManager's REST address.\n`,
    );
  });

  it.each([
    ['run -d -m', (p: number) => ['-m', `127.0.0.1:${p}`]],
    // Without -m, starting a local cluster there would only fail on the port the server holds.
    ['run -d at rest.port', (p: number) => ['-D', 'rest.address=127.0.0.1', '-D', `rest.port=${p}`, '-D', `process.jobmanager.working-dir=${join(dir.path, 'never-started')}`]],
  ])('%s says so as list does, and starts no cluster', async (_name, at) => {
    const result = await runFlink(['run', '-d', ...at(port), PER_USER_COUNT, '10']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `The server at http://127.0.0.1:${port} does not answer as a tsflink/Flink JobManager (GET /overview gave HTTP 404 without Flink's JSON error). Point -m <host:port> at the JobManager's REST address.\n`,
    });
  });

  it.each([
    ['gc -m', (p: number) => ['-m', `127.0.0.1:${p}`]],
    // Judging by the files alone while something else holds rest.port could delete what a job needs.
    ['gc at rest.port', (p: number) => ['-D', 'rest.address=127.0.0.1', '-D', `rest.port=${p}`]],
  ])('%s says so as list does, and deletes nothing', async (name, at) => {
    // An abandoned checkpoint (no _metadata), which gc would delete if it went on.
    const checkpoints = join(dir.path, `gc ${name}`);
    const abandoned = join(checkpoints, JOB_ID, 'chk-1', 'state');
    await mkdir(join(abandoned, '..'), { recursive: true });
    await writeFile(abandoned, 'x');
    expect(await runFlink(['gc', '--keep', '0', ...at(port), checkpoints])).toEqual({
      code: 1,
      stdout: '',
      stderr: `The server at http://127.0.0.1:${port} does not answer as a tsflink/Flink JobManager (GET /overview gave HTTP 404 without Flink's JSON error). Point -m <host:port> at the JobManager's REST address.\n`,
    });
    expect(await readFile(abandoned, 'utf8')).toBe('x');
  });
});

describe('gc -m with nothing listening', () => {
  it('says so with advice for gc, not to let run start a cluster', async () => {
    const port = await freePort();
    expect(await runFlink(['gc', '--dry-run', '-m', `127.0.0.1:${port}`, dir.path])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Could not connect to the JobManager at http://127.0.0.1:${port}: no cluster answers there. Check the address, or leave out -m: gc then asks rest.address:rest.port, and judges checkpoints by their files alone when nothing answers there.\n`,
    });
  });
});

describe('run -m with nothing listening', () => {
  it('says how to start a cluster there, not that run starts one', async () => {
    const port = await freePort();
    expect(await runFlink(['run', '-d', '-m', `127.0.0.1:${port}`, PER_USER_COUNT, '10'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `Could not connect to the JobManager at http://127.0.0.1:${port}: no cluster answers there. Start one there with 'flink cluster start -m 127.0.0.1:${port}', or leave out -m and 'flink run' starts a local one.\n`,
    });
  });
});

describe('a port Node\'s fetch refuses', () => {
  // Not taskmanager, the worst case, here: without the check it retries forever and would outlive the test.
  it.each([
    ['-m', ['-m', '127.0.0.1:1'], `Invalid JobManager address '127.0.0.1:1': port 1 is one Node's HTTP client refuses (a WHATWG "bad port"); use another port.\n`],
    ['rest.port', ['-D', 'rest.port=6000'], `rest.port: '6000': port 6000 is one Node's HTTP client refuses (a WHATWG "bad port"); use another port\n`],
  ])('as %s is refused in one line', async (_name, at, stderr) => {
    expect(await runFlink(['list', ...at])).toEqual({ code: 1, stdout: '', stderr });
  });
});
