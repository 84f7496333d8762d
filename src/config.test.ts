import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Config,
  KNOWN_KEYS,
  claimMode,
  defaultParallelism,
  describeKeys,
  ignoreUnclaimedState,
  loadConfig,
  maxParallelism,
  parseDefines,
  pipelineName,
  restAddress,
  restBindAddress,
  restPort,
  savepointPath,
  stateBackendOptions,
  stateBackendType,
  storeOptions,
  workingDir,
} from './config.ts';
import { UsageError, UserError } from './errors.ts';
import { taskCancellationTimeoutMs } from './engine/cluster/taskmanager/task-cancellation.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsflink-config-'));
  dirs.push(dir);
  return dir;
}

/** A working directory with `conf/config.yaml` holding `yaml` (none when undefined). */
function cwdWith(yaml: string | undefined): string {
  const cwd = tempDir();
  if (yaml !== undefined) {
    mkdirSync(join(cwd, 'conf'));
    writeFileSync(join(cwd, 'conf', 'config.yaml'), yaml);
  }
  return cwd;
}

function load(options: { yaml?: string; defines?: string[]; env?: Record<string, string>; cwd?: string } = {}): { config: Config; warnings: string[] } {
  const warnings: string[] = [];
  const config = loadConfig({ defines: options.defines ?? [], env: options.env ?? {}, cwd: options.cwd ?? cwdWith(options.yaml), warn: (m) => warnings.push(m) });
  return { config, warnings };
}

function loadError(options: Parameters<typeof load>[0]): UserError {
  try {
    load(options);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected loadConfig to fail');
}

const entries = (config: Config): Record<string, string> => Object.fromEntries(config);

describe('config.yaml', () => {
  it('flattens nested maps to dotted keys and turns scalars into strings', () => {
    const yaml = 'execution:\n  checkpointing:\n    interval: 10s\n    incremental: false\nrest:\n  port: 9091\nrestart-strategy:\n  type: exponential-delay\n  exponential-delay:\n    backoff-multiplier: 2.5\n';
    expect(entries(load({ yaml }).config)).toEqual({
      'execution.checkpointing.interval': '10s',
      'execution.checkpointing.incremental': 'false',
      'rest.port': '9091',
      'restart-strategy.type': 'exponential-delay',
      'restart-strategy.exponential-delay.backoff-multiplier': '2.5',
    });
  });

  it('reads flat and mixed spellings the same way, the later one winning', () => {
    const flat = load({ yaml: 'execution.checkpointing.interval: 10s\nrest.port: 9091\n' }).config;
    const mixed = load({ yaml: 'execution.checkpointing:\n  interval: 5s\nexecution:\n  checkpointing.interval: 10s\nrest: {port: 9091}\n' }).config;
    expect(entries(flat)).toEqual({ 'execution.checkpointing.interval': '10s', 'rest.port': '9091' });
    expect(entries(mixed)).toEqual(entries(flat));
  });

  it("joins lists with ';', skips null values and accepts an empty file", () => {
    expect(entries(load({ yaml: 'pipeline.name: [a, b, 3]\nrest.address:\n' }).config)).toEqual({ 'pipeline.name': 'a;b;3' });
    expect(load({ yaml: '# nothing set\n' }).config.size).toBe(0);
  });

  it('uses $FLINK_CONF_DIR before ./conf, resolving it against cwd', () => {
    const cwd = cwdWith('rest.port: 1111\n');
    mkdirSync(join(cwd, 'other'));
    writeFileSync(join(cwd, 'other', 'config.yaml'), 'rest.port: 2222\n');
    expect(restPort(load({ cwd }).config)).toBe(1111);
    expect(restPort(load({ cwd, env: { FLINK_CONF_DIR: 'other' } }).config)).toBe(2222);
    expect(restPort(load({ cwd, env: { FLINK_CONF_DIR: join(cwd, 'other') } }).config)).toBe(2222);
  });

  it('is optional in ./conf but required in $FLINK_CONF_DIR', () => {
    expect(load({ yaml: undefined }).config.size).toBe(0);
    const cwd = cwdWith('rest.port: 1111\n');
    const dir = tempDir();
    const err = loadError({ cwd, env: { FLINK_CONF_DIR: dir } });
    expect(err.message).toBe(`${join(dir, 'config.yaml')}: no such file (FLINK_CONF_DIR is set to '${dir}')`);
    expect(err.exitCode).toBe(2);
  });

  it('names the file, line and column of a YAML syntax error', () => {
    const cwd = cwdWith('rest.port: 8081\nexecution:\n  checkpointing: [10s\n');
    expect(loadError({ cwd }).message).toBe(
      `${join(cwd, 'conf', 'config.yaml')}: invalid YAML at line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    );
    const dup = cwdWith('rest.port: 1\nrest.port: 2\n');
    expect(loadError({ cwd: dup }).message).toBe(`${join(dup, 'conf', 'config.yaml')}: invalid YAML at line 2, column 1: Map keys must be unique`);
  });

  it('refuses a file that is not a map of keys', () => {
    const cwd = cwdWith('- rest.port\n');
    expect(loadError({ cwd }).message).toBe(`${join(cwd, 'conf', 'config.yaml')}: expected configuration keys at the top level, found a list`);
  });
});

describe('-D', () => {
  it('overrides the file', () => {
    const { config } = load({ yaml: 'rest.port: 1111\nrest.address: host-a\n', defines: ['rest.port=2222'] });
    expect(restPort(config)).toBe(2222);
    expect(restAddress(config)).toBe('host-a');
  });

  it('parseDefines keeps -D only, warns but does not check values, and refuses a missing =', () => {
    const warnings: string[] = [];
    const config = parseDefines(['s3.endpoint = http://x:9000', 'rest.port=nope', 'no.such=1'], (m) => warnings.push(m));
    expect(entries(config)).toEqual({ 's3.endpoint': 'http://x:9000', 'rest.port': 'nope', 'no.such': '1' });
    expect(warnings).toEqual(["Warning: unknown configuration key 'no.such' is ignored."]);
    expect(() => parseDefines(['novalue'], () => undefined)).toThrow(UsageError);
    expect(() => load({ defines: ['=1'] })).toThrow('-D =1: expected key=value');
  });
});

describe('unknown keys', () => {
  it('are warned about once each, wherever and however often they are set', () => {
    const { config, warnings } = load({ yaml: 'taskmanager:\n  numberOfTasks: 4\nrest.port: 8081\n', defines: ['taskmanager.numberOfTasks=2', 'no.such.key=1', 'no.such.key=2'] });
    expect(warnings).toEqual([
      "Warning: unknown configuration key 'taskmanager.numberOfTasks' is ignored.",
      "Warning: unknown configuration key 'no.such.key' is ignored.",
    ]);
    expect(config.get('no.such.key')).toBe('2');
  });

  it('do not include Flink\'s deprecated names for known keys', () => {
    const { warnings } = load({ defines: ['state.checkpoints.dir=/tmp/c', 'execution.savepoint.path=/tmp/s', 'execution.savepoint-restore-mode=claim', 'state.backend=rocksdb', 'restart-strategy=none'] });
    expect(warnings).toEqual([]);
  });
});

describe('unknown keys of the families tsflink implements', () => {
  const cases: [string, string][] = [
    ['state.backend.rocksdb.block.cache-size=256mb', "state.backend.rocksdb.block.cache-size: tsflink does not implement this key; the memory of the rocksdb and lmdb backends is set with state.backend.embedded.cache-size (each subtask's write-back cache in front of its store; RocksDB's own is left at its defaults)"],
    ['state.backend.rocksdb.memory.managed=true', "state.backend.rocksdb.memory.managed: tsflink does not implement this key; the memory of the rocksdb and lmdb backends is set with state.backend.embedded.cache-size (each subtask's write-back cache in front of its store; RocksDB's own is left at its defaults)"],
    ['state.backend.rocksdb.thread.num=4', 'state.backend.rocksdb.thread.num: tsflink does not implement this key; tsflink opens RocksDB with its defaults and reads only state.backend.rocksdb.localdir and state.backend.rocksdb.timer-service.factory; memory: state.backend.embedded.cache-size'],
    ['state.backend.changelog.enabled=true', 'state.backend.changelog.enabled: tsflink does not implement this key; tsflink has no changelog state backend; for small checkpoints of large state use execution.checkpointing.incremental: true'],
    ['execution.checkpointing.create-subdir=false', "execution.checkpointing.create-subdir: tsflink does not implement this key; checkpoints always go to <dir>/<jobId>/chk-<n> (as with Flink's default, true); remove it"],
    ['state.checkpoints.create-subdir=false', "state.checkpoints.create-subdir: tsflink does not implement this key; checkpoints always go to <dir>/<jobId>/chk-<n> (as with Flink's default, true); remove it"],
    ['execution.checkpointing.file-merging.enabled=true', 'execution.checkpointing.file-merging.enabled: tsflink does not implement this key; file merging is not supported: each subtask writes its own files for each checkpoint'],
    ['state.checkpoint-storage=filesystem', 'state.checkpoint-storage: tsflink does not implement this key; checkpoints go to execution.checkpointing.dir (a local path or s3://bucket/path)'],
    ['execution.checkpointing.unaligned.forced=true', 'execution.checkpointing.unaligned.forced: tsflink does not implement this key; tsflink has no unaligned checkpoints: checkpoints are aligned'],
    ['execution.checkpointing.intervall=10 s', 'execution.checkpointing.intervall: not a key tsflink knows; did you mean execution.checkpointing.interval?'],
    ['restart-strategy.fixed-delay.attempt=3', 'restart-strategy.fixed-delay.attempt: not a key tsflink knows; did you mean restart-strategy.fixed-delay.attempts?'],
    ['state.savepoints.dirs=/sp', 'state.savepoints.dirs: not a key tsflink knows; did you mean state.savepoints.dir?'],
    ['execution.checkpointing.snapshot-compression=true', "execution.checkpointing.snapshot-compression: tsflink does not implement this key and refuses it rather than ignore it; remove it (README's Configuration table lists the keys tsflink reads)"],
    ['execution.state-recovery.without-channel-state.checkpoint-id=3', "execution.state-recovery.without-channel-state.checkpoint-id: tsflink does not implement this key and refuses it rather than ignore it; remove it (README's Configuration table lists the keys tsflink reads)"],
    ['task.cancellation.interval=30000', "task.cancellation.interval: tsflink does not implement this key; a slot's subtasks get one cancel, as soon as their thread's event loop is free, and JavaScript has no interrupt that repeating it could deliver; a slot that has not stopped after task.cancellation.timeout is terminated: set that instead"],
    ['task.cancellation-interval=30000', "task.cancellation-interval: tsflink does not implement this key; a slot's subtasks get one cancel, as soon as their thread's event loop is free, and JavaScript has no interrupt that repeating it could deliver; a slot that has not stopped after task.cancellation.timeout is terminated: set that instead"],
    ['jobstore.cache-size=52428800', "jobstore.cache-size: tsflink does not implement this key; a finished job's record stays in the JobManager's memory, whole, until jobstore.expiration-time or jobstore.max-capacity drops it (there is no smaller cache in front of the files): bound it with those"],
    ['task.cancellation.timers.timeout=7500', "task.cancellation.timers.timeout: tsflink does not implement this key; a subtask's timers run on its slot's thread and stop with it: task.cancellation.timeout bounds the whole stop"],
    ['task.cancellation.timeouts=1 min', 'task.cancellation.timeouts: not a key tsflink knows; did you mean task.cancellation.timeout?'],
    // Flink's run sets both from -d and -sae, whatever the configuration says.
    ['execution.attached=false', "execution.attached: tsflink does not implement this key; flink run follows its job unless -d is given, and sets this key from that as Flink's run does, so a value here would change nothing: use -d for a detached run, and remove the key"],
    ['execution.shutdown-on-attached-exit=true', "execution.shutdown-on-attached-exit: tsflink does not implement this key; flink run sets this key from -sae as Flink's run does, and tsflink refuses -sae (an attached run cancels its job on Ctrl-C; SIGTERM, SIGHUP and a client that dies do not cancel it): remove the key"],
  ];
  it.each(cases)('-D %s is refused in one line, with the exit code of a bad value', (define, message) => {
    const err = loadError({ defines: [define] });
    expect(err.message).toBe(message);
    expect(err.exitCode).toBe(2); // the file tools' bad argument; cli.ts makes it 1 for the cluster commands
  });

  it('are refused from config.yaml too, nested or flat, before any warning is printed', () => {
    const warnings: string[] = [];
    const cwd = cwdWith('no.such.key: 1\nstate:\n  backend:\n    rocksdb:\n      memory:\n        fixed-per-slot: 1gb\n');
    expect(() => loadConfig({ defines: [], env: {}, cwd, warn: (m) => warnings.push(m) })).toThrow(/^state\.backend\.rocksdb\.memory\.fixed-per-slot: tsflink does not implement this key; /u);
    expect(warnings).toEqual([]);
  });

  it('parseDefines refuses them as well', () => {
    expect(() => parseDefines(['execution.checkpointing.file-merging.enabled=true'], () => undefined)).toThrow(UserError);
  });

  it('leave the keys tsflink reads under those prefixes, deprecated names included, alone', () => {
    const known = [...KNOWN_KEYS].filter((k) => /^(execution\.checkpointing|state\.|execution\.state-recovery|restart-strategy)/u.test(k));
    expect(known.length).toBeGreaterThan(30);
    for (const key of known) expect(() => parseDefines([`${key}=x`], () => undefined), key).not.toThrow();
    const { warnings } = load({ defines: ['state.backend.rocksdb.localdir=/r', 'state.backend.incremental=true', 'state.backend.local-recovery=true', 'state.checkpoints.dir=/c', 'state.savepoints.dir=/s', 'execution.state-recovery.from-local=true', 'restart-strategy.fixed-delay.attempts=3'] });
    expect(warnings).toEqual([]);
  });

  it('keys of other families stay warnings, as Flink ignores keys it does not know', () => {
    const { warnings } = load({ defines: ['taskmanager.memory.managed.size=1gb', 'state.latency-track.keyed-state-enabled=true', 'execution.runtime-mode=STREAMING'] });
    expect(warnings).toEqual([
      "Warning: unknown configuration key 'taskmanager.memory.managed.size' is ignored.",
      "Warning: unknown configuration key 'state.latency-track.keyed-state-enabled' is ignored.",
      "Warning: unknown configuration key 'execution.runtime-mode' is ignored.",
    ]);
  });
});

describe('validation at load time', () => {
  const cases: [string, string][] = [
    ['execution.checkpointing.mode=EXACTLY', "execution.checkpointing.mode: 'EXACTLY' is not one of EXACTLY_ONCE, AT_LEAST_ONCE"],
    ['execution.checkpointing.interval=5', "execution.checkpointing.interval: '5' is out of range: allowed is at least 10 ms (use 0 or leave the key unset to turn periodic checkpoints off)"],
    ['execution.checkpointing.timeout=soon', "execution.checkpointing.timeout: 'soon' is not a duration: write a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h"],
    ['state.checkpoints.num-retained=0', "state.checkpoints.num-retained: '0' is out of range: allowed is from 1 to 2147483647 (the latest checkpoint is always retained)"],
    ['execution.checkpointing.dir= ', 'execution.checkpointing.dir: the directory is empty; give a path or leave the key unset'],
    ['state.backend.type=forst', "state.backend.type: 'forst' is not one of hashmap, rocksdb, lmdb"],
    ['state.backend.type=filesystem', "state.backend.type: 'filesystem' is Flink 1's name for the heap state backend with checkpoints in files (FsStateBackend); use hashmap (with execution.checkpointing.dir for where checkpoints go)"],
    ['state.backend=JobManager', "state.backend: 'JobManager' is Flink 1's name for the heap state backend with checkpoints in the JobManager (MemoryStateBackend); use hashmap (with execution.checkpointing.dir for where checkpoints go)"],
    ['state.backend.rocksdb.timer-service.factory=disk', "state.backend.rocksdb.timer-service.factory: 'disk' is not one of HEAP, ROCKSDB"],
    ['state.backend.embedded.cache-size=lots', "state.backend.embedded.cache-size: 'lots' is not a memory size: write a whole number with an optional unit (b, kb, mb, gb), e.g. 64 mb"],
    ['state.backend.embedded.cache-size=1 kb', "state.backend.embedded.cache-size: '1 kb' is out of range: allowed is at least 65536 bytes"],
    ['state.backend.rocksdb.localdir= ', 'state.backend.rocksdb.localdir: the value is empty; give one or leave the key unset'],
    ['state.backend.rocksdb.localdir=/data1/rocks,/data2/rocks', "state.backend.rocksdb.localdir: '/data1/rocks,/data2/rocks' names several directories; tsflink uses one local directory, give one path"],
    ['state.backend.lmdb.localdir=/a;/b', "state.backend.lmdb.localdir: '/a;/b' names several directories; tsflink uses one local directory, give one path"],
    ['restart-strategy.type=always', "restart-strategy.type: 'always' is not one of none, off, disable, fixed-delay, fixeddelay, failure-rate, failurerate, exponential-delay, exponentialdelay"],
    ['restart-strategy.fixed-delay.attempts=-1', "restart-strategy.fixed-delay.attempts: '-1' is out of range: allowed is from 0 to 2147483647"],
    ['restart-strategy.fixed-delay.delay=1.5 s', "restart-strategy.fixed-delay.delay: '1.5 s' is not a duration: write a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h"],
    ['restart-strategy.failure-rate.max-failures-per-interval=0', "restart-strategy.failure-rate.max-failures-per-interval: '0' is out of range: allowed is from 1 to 2147483647"],
    ['restart-strategy.failure-rate.failure-rate-interval=0 s', "restart-strategy.failure-rate.failure-rate-interval: '0 s' is out of range: allowed is at least 1 ms"],
    ['restart-strategy.failure-rate.delay=x', "restart-strategy.failure-rate.delay: 'x' is not a duration: write a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h"],
    ['restart-strategy.exponential-delay.initial-backoff=0', "restart-strategy.exponential-delay.initial-backoff: '0' is out of range: allowed is at least 1 ms"],
    ['restart-strategy.exponential-delay.max-backoff=0 ms', "restart-strategy.exponential-delay.max-backoff: '0 ms' is out of range: allowed is at least 1 ms"],
    ['restart-strategy.exponential-delay.backoff-multiplier=0.5', "restart-strategy.exponential-delay.backoff-multiplier: '0.5' is out of range: allowed is greater than 1"],
    ['restart-strategy.exponential-delay.backoff-multiplier=1', "restart-strategy.exponential-delay.backoff-multiplier: '1' is out of range: allowed is greater than 1"],
    ['restart-strategy.exponential-delay.backoff-multiplier=two', "restart-strategy.exponential-delay.backoff-multiplier: 'two' is not a number"],
    ['restart-strategy.exponential-delay.reset-backoff-threshold=0', "restart-strategy.exponential-delay.reset-backoff-threshold: '0' is out of range: allowed is at least 1 ms"],
    ['restart-strategy.exponential-delay.jitter-factor=1.1', "restart-strategy.exponential-delay.jitter-factor: '1.1' is out of range: allowed is from 0 to 1"],
    ['restart-strategy.exponential-delay.attempts-before-reset-backoff=0', "restart-strategy.exponential-delay.attempts-before-reset-backoff: '0' is out of range: allowed is from 1 to 2147483647"],
    ['parallelism.default=0', "parallelism.default: '0' is out of range: allowed is from 1 to 32768"],
    ['parallelism.default=2.5', "parallelism.default: '2.5' is not a whole number (allowed: from 1 to 32768)"],
    ['pipeline.max-parallelism=32769', "pipeline.max-parallelism: '32769' is out of range: allowed is from 1 to 32768, or -1 for unset"],
    ['rest.port=65536', "rest.port: '65536' is out of range: allowed is from 0 to 65535"],
    ['rest.port=http', "rest.port: 'http' is not a whole number (allowed: from 0 to 65535)"],
    ['rest.port=6000', `rest.port: '6000': port 6000 is one Node's HTTP client refuses (a WHATWG "bad port"); use another port`],
    ['rest.address=', 'rest.address: the value is empty; give one or leave the key unset'],
    ['jobmanager.rpc.address=', 'jobmanager.rpc.address: the value is empty; give one or leave the key unset'],
    ['rest.bind-address= ', 'rest.bind-address: the value is empty; give one or leave the key unset'],
    ['process.jobmanager.working-dir=', 'process.jobmanager.working-dir: the value is empty; give one or leave the key unset'],
    ['execution.savepoint.path=', 'execution.savepoint.path: the value is empty; give one or leave the key unset'],
    ['execution.state-recovery.ignore-unclaimed-state=yes', "execution.state-recovery.ignore-unclaimed-state: 'yes' is not one of true, false"],
    ['execution.state-recovery.claim-mode=LEGACY', "execution.state-recovery.claim-mode: 'LEGACY' is not one of CLAIM, NO_CLAIM"],
    ['execution.savepoint-restore-mode=x', "execution.savepoint-restore-mode: 'x' is not one of CLAIM, NO_CLAIM"],
    ['s3.path.style.access=TRUE', "s3.path.style.access: 'TRUE' is not one of true, false"],
    ['jobstore.expiration-time=1 h', "jobstore.expiration-time: '1 h' is not a whole number of seconds (allowed: whole seconds from 0 to 9223372036854775807; Flink's key is a number of seconds, not a duration): write 3600 for 1 h"],
    ['jobstore.expiration-time=-1', "jobstore.expiration-time: '-1' is out of range (allowed: whole seconds from 0 to 9223372036854775807; Flink's key is a number of seconds, not a duration)"],
    ['jobstore.max-capacity=-1', "jobstore.max-capacity: '-1' is out of range (allowed: from 0 to 2147483647)"],
    ['jobstore.type=Memory', "jobstore.type: 'Memory': tsflink keeps every job's record as a file in the JobManager's working directory (File), which a restarted JobManager resumes running jobs from; remove the key or set File, and bound finished jobs with jobstore.expiration-time and jobstore.max-capacity"],
    ['task.cancellation.timeout=soon', "task.cancellation.timeout: 'soon' is not a duration: write a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h"],
    ['task.cancellation.timeout=-1', "task.cancellation.timeout: '-1' is not a duration: write a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h"],
    ['task.cancellation.timeout=25 d', "task.cancellation.timeout: '25 d' is out of range: allowed is at most 2147483647 ms (about 24 days), or 0 for no timeout"],
    // As -t refuses them: tsflink's one target is remote.
    ['execution.target=local', "execution.target: 'local': tsflink has no such deployment target (its local executor runs the job inside the client); it runs jobs on its own cluster, reached at -m host:port or rest.address:rest.port (target remote, the default), and flink run starts a local one when none answers: set it to remote or remove it"],
    ['execution.target=kubernetes-session', "execution.target: 'kubernetes-session': tsflink has no such deployment target; it runs jobs on its own cluster, reached at -m host:port or rest.address:rest.port (target remote, the default), and flink run starts a local one when none answers: set it to remote or remove it"],
  ];
  it.each(cases)('%s', (define, message) => {
    const err = loadError({ defines: [define] });
    expect(err.message).toBe(message);
    expect(err.exitCode).toBe(2);
  });

  it('refuses checkpoint settings that are not built yet, whatever else is set', () => {
    const err = loadError({ yaml: 'execution.checkpointing:\n  unaligned.enabled: true\n  mode: AT_LEAST_ONCE\n' });
    expect(err.message).toBe(
      'execution.checkpointing.unaligned.enabled: true is not supported yet (tsflink has no unaligned checkpoints); use false, the default: checkpoints are aligned',
    );
    expect(err.exitCode).toBe(2);
  });

  it('checks values read from the file too, and accepts good ones', () => {
    expect(loadError({ yaml: 'rest:\n  port: -1\n' }).message).toBe("rest.port: '-1' is out of range: allowed is from 0 to 65535");
    const yaml = [
      'execution.checkpointing: {interval: 10 s, mode: at_least_once, timeout: 1 min, num-retained: 3, dir: /tmp/chk}',
      'state.backend.type: HashMap',
      'restart-strategy: {type: failurerate, failure-rate: {max-failures-per-interval: 3, delay: 0}}',
      'parallelism.default: 4',
      'pipeline.max-parallelism: -1',
      'jobmanager.rpc.address: localhost',
      'pipeline.name: nightly',
      's3.path.style.access: false',
      // Flink's executor factories compare the target ignoring case.
      'execution.target: REMOTE',
      'jobstore: {expiration-time: 600, max-capacity: 100, type: file}',
    ].join('\n');
    expect(load({ yaml }).warnings).toEqual([]);
  });
});

describe('accessors', () => {
  const none: Config = new Map();
  it("return Flink's defaults", () => {
    expect(restAddress(none)).toBe('127.0.0.1');
    expect(restBindAddress(none)).toBe('127.0.0.1');
    expect(restPort(none)).toBe(8081);
    expect(workingDir(none, '/t')).toBe(join('/t', 'tsflink-jobmanager-8081'));
    expect(workingDir(none)).toBe(join(tmpdir(), 'tsflink-jobmanager-8081'));
    expect(defaultParallelism(none)).toBe(1);
    expect(maxParallelism(none)).toBeUndefined();
    expect(stateBackendType(none)).toBe('hashmap');
    expect(stateBackendOptions(none)).toEqual({});
    expect(claimMode(none)).toBe('NO_CLAIM');
    expect(savepointPath(none)).toBeUndefined();
    expect(ignoreUnclaimedState(none)).toBe(false);
    expect(pipelineName(none)).toBeUndefined();
  });

  it("read jobmanager.rpc.address for an unset rest.address, its fallback key in Flink, and the REST server listens there", () => {
    const rpc = new Map([['jobmanager.rpc.address', 'jm-host']]);
    expect(restAddress(rpc)).toBe('jm-host');
    expect(restBindAddress(rpc)).toBe('jm-host');
    expect(restAddress(new Map([...rpc, ['rest.address', 'rest-host']]))).toBe('rest-host');
  });

  it('return the configured values, reading deprecated names when the current one is unset', () => {
    const config = load({
      yaml: 'rest: {address: 10.0.0.1, port: 9000}\nparallelism.default: 3\npipeline.max-parallelism: 256\nexecution.savepoint-restore-mode: claim\nexecution.savepoint.path: /sp\n',
      defines: ['execution.savepoint.ignore-unclaimed-state=TRUE', 'pipeline.name=daily'],
    }).config;
    expect(restAddress(config)).toBe('10.0.0.1');
    expect(restBindAddress(config)).toBe('10.0.0.1');
    expect(workingDir(config, '/t')).toBe(join('/t', 'tsflink-jobmanager-9000'));
    expect(defaultParallelism(config)).toBe(3);
    expect(maxParallelism(config)).toBe(256);
    expect(claimMode(config)).toBe('CLAIM');
    expect(savepointPath(config)).toBe('/sp');
    expect(ignoreUnclaimedState(config)).toBe(true);
    expect(pipelineName(config)).toBe('daily');
    expect(stateBackendType(load({ yaml: 'state.backend: RocksDB\n' }).config)).toBe('rocksdb');
    expect(stateBackendType(new Map([['state.backend', 'lmdb'], ['state.backend.type', 'rocksdb']]))).toBe('rocksdb');
    expect(loadError({ defines: ['state.backend=forst'] }).message).toBe("state.backend: 'forst' is not one of hashmap, rocksdb, lmdb");
    expect(loadError({ defines: ['restart-strategy=sometimes'] }).message).toMatch(/^restart-strategy: 'sometimes' is not one of none, /);
    const both = new Map([['execution.savepoint.path', '/old'], ['execution.state-recovery.path', '/new'], ['rest.bind-address', '0.0.0.0'], ['process.jobmanager.working-dir', '/w']]);
    expect(savepointPath(both)).toBe('/new');
    expect(restBindAddress(both)).toBe('0.0.0.0');
    expect(workingDir(both)).toBe('/w');
  });

  it('keep the s3 options as before', () => {
    expect(storeOptions(new Map([['s3.endpoint', 'http://h:9000'], ['s3.path.style.access', 'false']]))).toEqual({ s3Endpoint: 'http://h:9000', s3PathStyle: false });
    expect(() => storeOptions(new Map([['s3.path.style.access', 'x']]))).toThrow(UsageError);
  });
});

describe('taskCancellationTimeoutMs', () => {
  it("is Flink's 180000 ms by default, a Flink duration (no unit: ms) when set, 0 for none", () => {
    expect(taskCancellationTimeoutMs(new Map())).toBe(180_000);
    expect(taskCancellationTimeoutMs(load({ yaml: 'task.cancellation.timeout: 30 s\n' }).config)).toBe(30_000);
    expect(taskCancellationTimeoutMs(load({ defines: ['task.cancellation.timeout=60000'] }).config)).toBe(60_000);
    expect(taskCancellationTimeoutMs({ 'task.cancellation.timeout': '0' })).toBe(0);
    expect(load({ defines: ['task.cancellation.timeout=0'] }).warnings).toEqual([]);
  });
});

describe('stateBackendOptions', () => {
  it('reads the local directories and the cache size (Flink\'s memory sizes)', () => {
    const config: Config = new Map([
      ['state.backend.rocksdb.localdir', '/r'],
      ['state.backend.lmdb.localdir', '/l'],
      ['state.backend.embedded.cache-size', '16 mb'],
      ['state.backend.rocksdb.timer-service.factory', 'heap'],
    ]);
    expect(stateBackendOptions(config)).toEqual({ rocksdbLocalDir: '/r', lmdbLocalDir: '/l', cacheBytes: 16 * 1024 * 1024, timerService: 'HEAP' });
    expect(stateBackendOptions(new Map([['state.backend.rocksdb.timer-service.factory', 'RocksDB']]))).toEqual({ timerService: 'ROCKSDB' });
    expect(stateBackendOptions(new Map([['state.backend.embedded.cache-size', '1g']]))).toEqual({ cacheBytes: 1024 ** 3 });
    expect(stateBackendOptions(new Map([['state.backend.embedded.cache-size', '100000']]))).toEqual({ cacheBytes: 100000 });
  });
});

describe('describeKeys', () => {
  it('describes every known key, and README.md documents each of them', () => {
    const described = describeKeys();
    expect(new Set(described.flatMap((k) => [k.key, ...k.deprecatedKeys]))).toEqual(KNOWN_KEYS);
    for (const k of described) expect(k.description.length > 0 && k.default.length > 0 && k.allowed.length > 0).toBe(true);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const k of described) {
      expect(readme).toContain(`| \`${k.key}\` |`);
      for (const old of k.deprecatedKeys) expect(readme).toContain(`also read as \`${old}\``);
    }
  });
});
