/**
 * Flink's single-dash spellings of long options (commons-cli's DefaultParser), per command, as
 * commander parses them: the options each command's module is given, the module itself replaced.
 */
import { tmpdir } from 'node:os';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli.ts';
import type { CliContext } from './output/context.ts';

const calls = vi.hoisted(() => {
  const list: Array<{ command: string; args: unknown[] }> = [];
  // The last argument, the command's env (context and config), is not what is parsed.
  const capture =
    (command: string) =>
    async (...args: unknown[]): Promise<number> => {
      list.push({ command, args: args.slice(0, -1) });
      return 0;
    };
  return { list, capture };
});

vi.mock('./commands/inspect.ts', () => ({ runInspect: calls.capture('inspect') }));
vi.mock('./commands/diff.ts', () => ({ runDiff: calls.capture('diff') }));
vi.mock('./commands/rekey.ts', () => ({ runRekey: calls.capture('rekey') }));
vi.mock('./commands/verify.ts', () => ({ runVerify: calls.capture('verify') }));
vi.mock('./commands/gc.ts', () => ({ runGc: calls.capture('gc') }));
vi.mock('./commands/run.ts', () => ({ runRun: calls.capture('run') }));
vi.mock('./commands/plan-restore.ts', () => ({ runPlanRestore: calls.capture('plan-restore') }));
vi.mock('./commands/info.ts', () => ({ runInfo: calls.capture('info') }));
vi.mock('./commands/list.ts', () => ({ runList: calls.capture('list') }));
vi.mock('./commands/savepoint.ts', () => ({ runSavepoint: calls.capture('savepoint') }));
vi.mock('./commands/stop.ts', () => ({ runStop: calls.capture('stop') }));
vi.mock('./commands/cancel.ts', () => ({ runCancel: calls.capture('cancel') }));
vi.mock('./commands/checkpoint.ts', () => ({ runCheckpoint: calls.capture('checkpoint') }));
vi.mock('./commands/cluster.ts', () => ({ runCluster: calls.capture('cluster') }));
vi.mock('./commands/jobmanager.ts', () => ({ runJobManagerCommand: calls.capture('jobmanager') }));
vi.mock('./commands/taskmanager.ts', () => ({ runTaskManagerCommand: calls.capture('taskmanager') }));

const JOB = '0123456789abcdef0123456789abcdef';
const KEY = 'parallelism.default=2';

beforeEach(() => {
  calls.list.length = 0;
});

async function parse(argv: string[]): Promise<{ code: number; out: string; err: string; args: unknown[] | undefined }> {
  let out = '';
  let err = '';
  const ctx: CliContext = { stdout: { write: (t) => void (out += t) }, stderr: { write: (t) => void (err += t) }, env: {}, cwd: tmpdir() };
  const code = await main(argv, ctx);
  const call = calls.list.at(-1);
  expect(call === undefined || call.command === argv[0]).toBe(true);
  // run's flags as typed are tested on their own below.
  const args = call?.args.map((a) => (a !== null && typeof a === 'object' && 'typedFlags' in a ? Object.fromEntries(Object.entries(a).filter(([k]) => k !== 'typedFlags')) : a));
  return { code, out, err, args };
}

describe('a long option after a single dash is the long option, in every command', () => {
  it.each<[string[], unknown[]]>([
    [
      ['run', '-detached', '-parallelism', '2', '-fromSavepoint', '/sp', '-allowNonRestoredState', '-jobmanager', 'h:1', '-claimMode', 'claim', '-define', KEY, '-verbose', 'job.ts', '-detached', '-x'],
      ['job.ts', ['-detached', '-x'], { detached: true, parallelism: 2, fromSavepoint: '/sp', allowNonRestoredState: true, jobmanager: 'h:1', claimMode: 'claim', define: [KEY], verbose: true }],
    ],
    [['run', '-restoreMode', 'claim', '-s', '/sp', 'job.ts'], ['job.ts', [], { restoreMode: 'claim', fromSavepoint: '/sp', define: [] }]],
    [['run', '-cm', 'no_claim', '-rm', 'claim', '-s', '/sp', 'job.ts'], ['job.ts', [], { claimMode: 'no_claim', restoreMode: 'claim', fromSavepoint: '/sp', define: [] }]],
    // -L=V and -S=V take the value after `=`; a short option's attached value and clusters stay as they were.
    [['run', '-parallelism=3', '-fromSavepoint=/sp', 'job.ts'], ['job.ts', [], { parallelism: 3, fromSavepoint: '/sp', define: [] }]],
    [['run', '-p=4', '-D=' + KEY, 'job.ts'], ['job.ts', [], { parallelism: 4, define: [KEY] }]],
    [['run', '-p2', '-ssomewhere', '-dn', '-D' + KEY, 'job.ts'], ['job.ts', [], { parallelism: 2, fromSavepoint: 'somewhere', detached: true, allowNonRestoredState: true, define: [KEY] }]],
    // -LV (commons-cli's -Xmx512m).
    [['run', '-parallelism16', 'job.ts'], ['job.ts', [], { parallelism: 16, define: [] }]],
    [['info', '-parallelism', '3', 'job.ts', '-parallelism'], ['job.ts', ['-parallelism'], { parallelism: 3, define: [] }]],
    [['plan-restore', '-allowNonRestoredState', '-parallelism=2', '-json', '/sp', 'job.ts', '-json'], ['/sp', 'job.ts', ['-json'], { allowNonRestoredState: true, parallelism: 2, json: true, define: [] }]],
    [['list', '-running', '-jobmanager', 'h:1'], [{ running: true, jobmanager: 'h:1', define: [] }]],
    [['list', '-scheduled', '-all'], [{ scheduled: true, all: true, define: [] }]],
    [['savepoint', '-type', 'NATIVE', '-detached', JOB, '/target'], [JOB, '/target', { type: 'native', detached: true, define: [] }]],
    [['savepoint', '-savepointPath=/target', '-type=native', JOB], [JOB, undefined, { savepointPath: '/target', type: 'native', define: [] }]],
    [['savepoint', '-dispose', '/sp'], [undefined, undefined, { dispose: '/sp', define: [] }]],
    // Not a name of savepoint's: -d (dispose) with its value attached, as commons-cli reads it too.
    [['savepoint', '-drain', JOB], [JOB, undefined, { dispose: 'rain', define: [] }]],
    [['stop', '-drain', '-savepointPath', '/sp', '-type', 'native', JOB], [JOB, { drain: true, savepointPath: '/sp', type: 'native', define: [] }]],
    [['stop', JOB, '-savepointPath', '-drain'], [JOB, { savepointPath: true, drain: true, type: 'canonical', define: [] }]],
    // Flink's `stop -p <jobId>`: the value is the job id, which runStop takes it as.
    [['stop', '-savepointPath', JOB], [undefined, { savepointPath: JOB, type: 'canonical', define: [] }]],
    [['stop', '-savepointPath/sp', JOB], [JOB, { savepointPath: '/sp', type: 'canonical', define: [] }]],
    [['cancel', '-jobmanager', 'h:1', JOB], [JOB, { jobmanager: 'h:1', define: [] }]],
    [['checkpoint', JOB, '-full'], [JOB, { full: true, define: [] }]],
    [['checkpoint', '-full', '-json', '-jobmanager=h:1', JOB], [JOB, { full: true, json: true, jobmanager: 'h:1', define: [] }]],
    [['cluster', 'status', '-jobmanager', 'h:1'], ['status', { jobmanager: 'h:1', define: [] }]],
    [['jobmanager', '-define', KEY], [{ define: [KEY] }]],
    [['taskmanager', '-jobmanager', 'h:1', '-D', KEY], [{ jobmanager: 'h:1', define: [KEY] }]],
    [['inspect', '/p', '-entries', '-limit', '5', '-operator', 'op', '-state', 's', '-uid', 'a', '-uid=b'], ['/p', { entries: true, limit: 5, operator: 'op', state: 's', uid: ['a', 'b'], define: [] }]],
    [['inspect', '/p', '-keys', '-key', '"k"'], ['/p', { keys: true, key: '"k"', uid: [], define: [] }]],
    [['diff', 'a', 'b', '-schema', '-entries', '-limit=2'], ['a', 'b', { schema: true, entries: true, limit: 2, uid: [], define: [] }]],
    [['rekey', 'a', 'b', '-max-parallelism', '256', '-memory', '64m'], ['a', 'b', { maxParallelism: 256, memory: 64 * 1024 * 1024, define: [] }]],
    [['verify', '-json', '-verbose', '/p'], ['/p', { json: true, verbose: true, define: [] }]],
    // The beginning of a long name (commons-cli's partial matching), after two dashes or one.
    [['run', '--parallel', '2', '-detach', '--from=/sp', '-allow', '-jobm', 'h:1', 'job.ts', '--parallel'], ['job.ts', ['--parallel'], { parallelism: 2, detached: true, fromSavepoint: '/sp', allowNonRestoredState: true, jobmanager: 'h:1', define: [] }]],
    [['stop', '--dr', '-savepoint', '/sp', '-verb', JOB], [JOB, { drain: true, savepointPath: '/sp', verbose: true, type: 'canonical', define: [] }]],
    [['list', '--run', '-sch', '-al'], [{ running: true, scheduled: true, all: true, define: [] }]],
    [['inspect', '/p', '--ent', '-lim=3', '-op', 'o'], ['/p', { entries: true, limit: 3, operator: 'o', uid: [], define: [] }]],
    // GenericCLI's -t, --target (and its deprecated -e, --executor): remote, what tsflink runs on; the savepoint format is -type.
    [['run', '-t', 'remote', '-e', 'REMOTE', 'job.ts'], ['job.ts', [], { target: 'remote', executor: 'remote', define: [] }]],
    [['savepoint', '-target', 'remote', '-type', 'NATIVE', JOB], [JOB, undefined, { target: 'remote', type: 'native', define: [] }]],
    [['stop', '-t=remote', '-ty', 'native', JOB], [JOB, { target: 'remote', type: 'native', define: [] }]],
    [['list', '-t', 'remote'], [{ target: 'remote', define: [] }]],
    [['cancel', '--executor=remote', JOB], [JOB, { executor: 'remote', define: [] }]],
    [['checkpoint', '--target', 'remote', JOB], [JOB, { target: 'remote', define: [] }]],
    // cancel's deprecated -s, --withSavepoint [targetDirectory] with -type; stop's -detached beside -d (drain).
    [['cancel', '-s', '/sp', '-type', 'native', JOB], [JOB, { withSavepoint: '/sp', type: 'native', define: [] }]],
    [['cancel', '-withSavepoint', JOB], [undefined, { withSavepoint: JOB, define: [] }]],
    [['cancel', JOB, '-s'], [JOB, { withSavepoint: true, define: [] }]],
    [['stop', '-detached', '-d', JOB], [JOB, { detached: true, drain: true, type: 'canonical', define: [] }]],
    // Flink's -detached is a short name: -de is -d (dispose) with the value e, as in Flink.
    [['savepoint', '-de', JOB], [JOB, undefined, { dispose: 'e', define: [] }]],
    [['gc', '/d', '-dry-run', '-keep', '2', '-older-than', '7 d', '-jobmanager', 'h:1'], ['/d', { dryRun: true, keep: 2, olderThan: '7 d', jobmanager: 'h:1', define: [] }]],
  ])('%j', async (argv, expected) => {
    const result = await parse(argv);
    expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: '' });
    expect(result.args).toEqual(expected);
  });

  it('-help is --help', async () => {
    const result = await parse(['stop', '-help']);
    expect(result).toMatchObject({ code: 0, err: '', args: undefined });
    expect(result.out).toMatch(/^Usage: flink stop \[options\] \[jobId\]/);
  });

  it("run's messages name a flag as typed", async () => {
    await main(['run', '-cm', 'claim', '-parallelism=2', 'job.ts'], { stdout: { write: () => undefined }, stderr: { write: () => undefined }, env: {}, cwd: tmpdir() });
    const options = calls.list.at(-1)?.args[2] as { typedFlags: ReadonlyMap<string, string> };
    expect(Object.fromEntries(options.typedFlags)).toEqual({ '--claimMode': '-cm', '--parallelism': '-parallelism' });
  });
});

describe('what commons-cli does not take as a long option is refused as before', () => {
  it.each([
    // A one-letter value after a long name is not split off (commons-cli's getLongPrefix): -p with the value arallelism8, Flink's message.
    [['run', '-parallelism8', 'job.ts'], 'The parallelism must be a positive number: arallelism8\n'],
    [['stop', '-drain=yes', JOB], "error: unknown option '-rain=yes'\n(run with --help for usage)\n"],
    // tsflink's own long names are taken whole only: no beginning of them selects them.
    [['stop', '--js', JOB], "error: unknown option '--js'\n(Did you mean --json?)\n(run with --help for usage)\n"],
  ])('%j', async (argv, message) => {
    const result = await parse(argv);
    expect({ code: result.code, err: result.err, args: result.args }).toEqual({ code: 1, err: message, args: undefined });
  });

  it.each([
    // -t was tsflink's savepoint format before it was Flink's --target: the old use is pointed to -type.
    [['stop', '-t', 'NATIVE', JOB], "-t NATIVE: -t is the deployment target (Flink's --target); the savepoint format is -type (--type): -type NATIVE\n", 1],
    [['savepoint', '-t', 'canonical', JOB], "-t canonical: -t is the deployment target (Flink's --target); the savepoint format is -type (--type): -type canonical\n", 1],
    [['run', '-t', 'local', 'job.ts'], '-t local: tsflink has no such deployment target (its local executor runs the job inside the client); it runs jobs on its own cluster, reached at -m host:port or rest.address:rest.port (target remote, the default), and flink run starts a local one when none answers: leave out -t.\n', 1],
    [['cancel', '-e', 'yarn-session', JOB], '-e yarn-session: tsflink has no such deployment target; it runs jobs on its own cluster, reached at -m host:port or rest.address:rest.port (target remote, the default), and flink run starts a local one when none answers: leave out -e.\n', 1],
    // commons-cli's AmbiguousOptionException in one line, with the exit code of a bad argument (the file tools' 2, Flink's 1).
    [['inspect', '/p', '-ke', 'k'], "Ambiguous option: '-ke'  (could be: 'keys', 'key')\n", 2],
    [['rekey', 'a', 'b', '--m', '2'], "Ambiguous option: '--m'  (could be: 'max-parallelism', 'memory')\n", 2],
    [['stop', '--t', 'native', JOB], "Ambiguous option: '--t'  (could be: 'type', 'target')\n", 1],
    [['savepoint', '--t=native', JOB], "Ambiguous option: '--t'  (could be: 'type', 'target')\n", 1],
  ])('%j', async (argv, message, code) => {
    const result = await parse(argv);
    expect({ code: result.code, err: result.err, args: result.args }).toEqual({ code, err: message, args: undefined });
  });
});

describe("Flink's options that tsflink has no counterpart of are refused in one line saying what to do, exit 1", () => {
  const PYTHON = 'tsflink runs TypeScript and JavaScript job modules; Python jobs are not supported: give a .ts or .js job module instead.\n';
  const ZK = '-z (--zookeeperNamespace): tsflink has no ZooKeeper high availability: it talks to the one JobManager at -m host:port or rest.address:rest.port; leave out -z.\n';
  it.each<[string[], string]>([
    [['run', '-c', 'com.example.Main', 'job.ts'], "-c (--class): tsflink runs the job module's default export, (env, args) => { ... }; there is no main class: leave out -c.\n"],
    // In any spelling commons-cli takes: a cluster, a long name after one dash, the beginning of one.
    [['run', '-dc', 'Main', 'job.ts'], "-c (--class): tsflink runs the job module's default export, (env, args) => { ... }; there is no main class: leave out -c.\n"],
    [['info', '-class=Main', 'job.ts'], "-c (--class): tsflink runs the job module's default export, (env, args) => { ... }; there is no main class: leave out -c.\n"],
    [['run', '-C', 'file:///lib.jar', 'job.ts'], '-C (--classpath): tsflink bundles the job module with its local imports and sends that bundle to the cluster; there is no classpath: leave out -C.\n'],
    [['run', '--classp', 'file:///lib.jar', 'job.ts'], '-C (--classpath): tsflink bundles the job module with its local imports and sends that bundle to the cluster; there is no classpath: leave out -C.\n'],
    [['run', '-j', 'job.jar'], '-j (--jarfile): the job module is the first argument after the options ([options] <jobFile> [args...]): give it there instead of -j.\n'],
    [['info', '-jarfile', 'job.jar'], '-j (--jarfile): the job module is the first argument after the options ([options] <jobFile> [args...]): give it there instead of -j.\n'],
    [['run', '-a', 'x', 'job.ts'], "-a (--arguments): give the job's arguments after the job file instead ([options] <jobFile> [args...]).\n"],
    [['run', '-sae', 'job.ts'], "-sae (--shutdownOnAttachedExit): an attached flink run already cancels its job on Ctrl-C; tsflink does not turn SIGTERM, SIGHUP or a client that dies into a cancel as Flink's shutdown hook and client heartbeat do: leave out -sae, and cancel a job whose client is gone with flink cancel <jobId>.\n"],
    [['run', '--shutdownOnAttachedExit', 'job.ts'], "-sae (--shutdownOnAttachedExit): an attached flink run already cancels its job on Ctrl-C; tsflink does not turn SIGTERM, SIGHUP or a client that dies into a cancel as Flink's shutdown hook and client heartbeat do: leave out -sae, and cancel a job whose client is gone with flink cancel <jobId>.\n"],
    [['info', '-sae', 'job.ts'], '-sae (--shutdownOnAttachedExit): info builds the plan and runs nothing, so there is no job to shut down: leave out -sae.\n'],
    [['info', '-d', 'job.ts'], '-d (--detached): info builds the plan and runs nothing, so there is nothing to detach from: leave out -d.\n'],
    [['run', '-yd', 'job.ts'], '-yd (--yarndetached): tsflink does not run on YARN; this deprecated YARN spelling of detached mode is -d, --detached: use -d.\n'],
    [['run', '-py', 'job.py'], `-py (--python): ${PYTHON}`],
    [['run', '--pyt', 'job.py'], `-py (--python): ${PYTHON}`],
    [['run', '-pym', 'job', '-pyfs', 'a.zip'], `-pym (--pyModule): ${PYTHON}`],
    [['info', '-pyfs', 'a.zip', 'job.ts'], `-pyfs (--pyFiles): ${PYTHON}`],
    [['run', '-pyreq', 'requirements.txt', 'job.ts'], `-pyreq (--pyRequirements): ${PYTHON}`],
    [['run', '-pyarch', 'venv.zip', 'job.ts'], `-pyarch (--pyArchives): ${PYTHON}`],
    [['run', '-pyexec', 'python3', 'job.ts'], `-pyexec (--pyExecutable): ${PYTHON}`],
    [['run', '-pyclientexec', 'python3', 'job.ts'], `-pyclientexec (--pyClientExecutable): ${PYTHON}`],
    [['run', '-pypath', '/py', 'job.ts'], `-pypath (--pyPythonPath): ${PYTHON}`],
    [['run', '-z', 'ns', 'job.ts'], ZK],
    [['list', '-zookeeperNamespace', 'ns'], ZK],
    [['savepoint', JOB, '-z', 'ns'], ZK],
    [['stop', '--zoo=ns', JOB], ZK],
    [['cancel', '-z', 'ns', JOB], ZK],
    [['checkpoint', '-z', 'ns', JOB], ZK],
    [['savepoint', '-j', 'job.jar', '-d', '/sp'], "-j (--jarfile): tsflink disposes of a savepoint without the job's code: leave out -j.\n"],
    // Flink's run has the py options too, so a beginning they share with parallelism is ambiguous there as well.
    [['run', '--p', '2', 'job.ts'], "Ambiguous option: '--p'  (could be: 'python', 'pyFiles', 'pyModule', 'pyRequirements', 'pyArchives', 'pyExecutable', 'pyClientExecutable', 'pyPythonPath', 'parallelism')\n"],
  ])('%j', async (argv, message) => {
    const result = await parse(argv);
    expect({ code: result.code, err: result.err, args: result.args }).toEqual({ code: 1, err: message, args: undefined });
  });

  it('after the job file they are the job\'s own arguments', async () => {
    const result = await parse(['run', 'job.ts', '-c', 'Main', '-py', 'x', '-sae']);
    expect({ code: result.code, err: result.err, args: result.args }).toEqual({ code: 0, err: '', args: ['job.ts', ['-c', 'Main', '-py', 'x', '-sae'], { define: [] }] });
  });

  it('are not shown in help', async () => {
    const result = await parse(['run', '--help']);
    expect(result.out).not.toMatch(/--class|--python|shutdownOnAttachedExit|zookeeper/);
  });
});
