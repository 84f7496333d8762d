/**
 * The configuration keys tsflink knows: Flink's names and defaults, a line of help each, and the
 * check that refuses a bad value when the configuration is loaded rather than when a job first
 * reads it. `config.ts` loads and reads; this file only describes.
 */
import { CHECKPOINT_KEYS, LOCAL_RECOVERY_KEY, checkpointConfigFromKeys } from './engine/checkpoint/checkpoint-config.ts';
import { DURATION_SYNTAX } from './engine/checkpoint/flink-duration.ts';
import { BIND_HOST_KEY, BUFFERS_PER_CHANNEL_KEY, DATA_PORT_KEY, HEARTBEAT_TIMEOUT_KEY, SHARED_SECRET_KEY, parseBuffersPerChannel, parseDataPort, parseHeartbeatTimeout, parseSecret } from './engine/network/network-config.ts';
import { RESTART_PARAMETERS, RESTART_STRATEGY_NAMES, RESTART_STRATEGY_TYPE_DEPRECATED_KEYS, RESTART_STRATEGY_TYPE_KEY, parseRestartStrategyType } from './engine/runtime/restart-strategy.ts';
import { type BuiltStateBackendType, parseStateBackendChoice, refuseUnbuiltStateBackend } from './engine/state/state-backend-type.ts';
import { MEMORY_SIZE_SYNTAX, MIN_WORKER_HEAP_MB, WORKER_HEAP_KEY, workerHeapLimitMb } from './engine/cluster/worker-heap.ts';
import { MAX_TASK_SLOTS, TASK_SLOTS_KEY } from './engine/cluster/taskmanager/task-slots.ts';
import { HEARTBEAT_INTERVAL_KEY, HEARTBEAT_TIMEOUT_KEY as TASK_MANAGER_HEARTBEAT_TIMEOUT_KEY, MAX_SLOTS_KEY, SLOT_REQUEST_TIMEOUT_KEY, SPREAD_OUT_SLOTS_KEY, TASK_MANAGER_COUNT_KEY, TASK_MANAGER_HOST_KEY, TASK_MANAGER_IDLE_TIMEOUT_KEY, UNBOUNDED_SLOTS } from './engine/cluster/taskmanager/task-manager-settings.ts';
import { parseFlinkDuration } from './engine/checkpoint/flink-duration.ts';
import { TASK_CANCELLATION_TIMEOUT_KEY, parseTaskCancellationTimeout } from './engine/cluster/taskmanager/task-cancellation.ts';
import { badPortProblem } from './engine/cluster/bad-ports.ts';
import { ASYNC_STORE_DURATION_KEY, parseAsyncStoreDuration } from './engine/cluster/completed-operation-cache.ts';
import { JOBSTORE_EXPIRATION_TIME_KEY, JOBSTORE_MAX_CAPACITY_KEY, JOBSTORE_TYPE_KEY, MAX_JOBSTORE_CAPACITY, parseJobStoreExpiration, parseJobStoreMaxCapacity, parseJobStoreType } from './engine/cluster/finished-jobs.ts';
import { DEPLOYMENT_TARGET_KEY, isRemoteTarget, unsupportedTargetReason } from './engine/cluster/deployment-target.ts';
import { UserError } from './errors.ts';

/** One key as documented in README.md and shown by help. */
export interface KeyDescription {
  readonly key: string;
  /** As a config file would spell it; `(none)` for keys that are unset by default. */
  readonly default: string;
  readonly allowed: string;
  readonly description: string;
  /** Older names Flink still reads for this key; the current name wins when both are set. */
  readonly deprecatedKeys: readonly string[];
}

export interface KeySpec extends KeyDescription {
  /** Throws UserError (exit code 1) naming the key, the value and what is allowed. */
  readonly validate: (value: string, key: string) => void;
}

/** Flink's `KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM`. */
export const UPPER_BOUND_MAX_PARALLELISM = 32_768;

export const CLAIM_MODES = ['CLAIM', 'NO_CLAIM'] as const;
export type ClaimMode = (typeof CLAIM_MODES)[number];


export function fail(key: string, message: string): never {
  throw new UserError(`${key}: ${message}`, 1);
}

export function parseWholeNumber(key: string, value: string, min: number, max: number, extra?: { value: number; means: string }): number {
  const text = value.trim();
  const range = `from ${min} to ${max}${extra === undefined ? '' : `, or ${extra.value} for ${extra.means}`}`;
  if (!/^[+-]?\d+$/u.test(text)) fail(key, `'${value}' is not a whole number (allowed: ${range})`);
  const n = Number(text);
  if (extra !== undefined && n === extra.value) return n;
  if (n < min || n > max) {
    fail(key, `'${value}' is out of range: allowed is ${range}`);
  }
  return n;
}

/** rest.port: a port the CLI's HTTP client can reach, since every command talks to the cluster there. */
export function parseRestPort(key: string, value: string): number {
  const port = parseWholeNumber(key, value, 0, 65_535);
  const bad = badPortProblem(port);
  if (bad !== undefined) fail(key, `'${value}': ${bad}`);
  return port;
}

/** Flink matches enum values ignoring case; `allowed` is in the spelling error messages show. */
export function parseChoice<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a.toLowerCase() === value.trim().toLowerCase());
  if (found === undefined) fail(key, `'${value}' is not one of ${allowed.join(', ')}`);
  return found;
}

export function parseDurationAtLeast(key: string, value: string, minMs: number): number {
  const ms = parseFlinkDuration(value);
  if (ms === undefined) fail(key, `'${value}' is not a duration (${DURATION_SYNTAX})`);
  if (ms < minMs) fail(key, `'${value}' is below ${minMs} ms`);
  return ms;
}

export function parseBoolean(key: string, value: string): boolean {
  return parseChoice(key, value, ['true', 'false']) === 'true';
}

export function parseNonEmpty(key: string, value: string): string {
  const text = value.trim();
  if (text === '') fail(key, 'the value is empty; give one or leave the key unset');
  return text;
}

/**
 * A state backend's local directory. Flink spreads RocksDB instances over several directories
 * given as `/a,/b`; tsflink uses one, and says so rather than make a directory named `/a,/b`.
 */
export function parseLocalDir(key: string, value: string): string {
  const text = parseNonEmpty(key, value);
  if (/[,;]/.test(text)) fail(key, `'${value}' names several directories; tsflink uses one local directory, give one path`);
  return text;
}

/** One of STATE_BACKEND_TYPES, else one line (exit 1); a type named but not built would be refused the same way. */
export function parseStateBackendType(key: string, value: string): BuiltStateBackendType {
  return refuseUnbuiltStateBackend(key, parseStateBackendChoice(key, value), value);
}

/** Flink's MemorySize syntax: a whole number and an optional unit (b, kb, mb, gb, with or without "i"; k, m, g). */
export function parseMemorySize(key: string, value: string, min: number): number {
  const match = /^(\d+)\s*([kmg]?)(i?b?|bytes)?$/iu.exec(value.trim());
  if (match === null) fail(key, `'${value}' is not a memory size: write a whole number with an optional unit (b, kb, mb, gb), e.g. 64 mb`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = Number(match[1]) * scale;
  if (!Number.isSafeInteger(bytes) || bytes < min) fail(key, `'${value}' is out of range: allowed is at least ${min} bytes`);
  return bytes;
}

export const TIMER_SERVICE_FACTORIES = ['HEAP', 'ROCKSDB'] as const;

/**
 * Flink's `state.backend.rocksdb.timer-service.factory`, for both on-disk backends: ROCKSDB (the
 * default) keeps the timer queue in the store, HEAP in memory.
 */
export function parseTimerServiceFactory(key: string, value: string): (typeof TIMER_SERVICE_FACTORIES)[number] {
  return parseChoice(key, value, TIMER_SERVICE_FACTORIES);
}

const NO_DEFAULT = '(none)';

function spec(key: string, def: string, allowed: string, description: string, validate: KeySpec['validate'], deprecatedKeys: readonly string[] = []): KeySpec {
  return { key, default: def, allowed, description, deprecatedKeys, validate };
}

/**
 * `checkpointConfigFromKeys` with the exit code of a configuration error: it throws UserError
 * with the default code 2, but a bad value in the configuration fails the command with 1, as in
 * Flink.
 */
export function checkCheckpointKeys(map: ReadonlyMap<string, string>): void {
  try {
    checkpointConfigFromKeys(map);
  } catch (err) {
    if (err instanceof UserError && err.exitCode !== 1) throw new UserError(err.message, 1, { cause: err });
    throw err;
  }
}

/** Each checkpoint key is checked alone here; the combinations are checked on the whole map. */
const checkpointValue: KeySpec['validate'] = (value, key) => checkCheckpointKeys(new Map([[key, value]]));

function checkpoint(field: keyof typeof CHECKPOINT_KEYS, def: string, allowed: string, description: string): KeySpec {
  const { key, deprecated } = CHECKPOINT_KEYS[field];
  return spec(key, def, allowed, description, checkpointValue, deprecated);
}

const DURATION = `a duration: ${DURATION_SYNTAX}`;
export const MIN_CACHE_BYTES = 64 * 1024;
const MAX_INT = 2_147_483_647;

export const KEY_SPECS: readonly KeySpec[] = [
  checkpoint('interval', NO_DEFAULT, `${DURATION}; at least 10 ms, or 0 for off`, 'time between periodic checkpoints; unset or 0: no periodic checkpoints'),
  checkpoint('mode', 'EXACTLY_ONCE', 'EXACTLY_ONCE, AT_LEAST_ONCE', 'EXACTLY_ONCE aligns barriers; AT_LEAST_ONCE does not, so a restore may replay some records twice'),
  checkpoint('timeout', '10 min', `${DURATION}; at least 10 ms`, 'a checkpoint or savepoint taking longer is expired'),
  checkpoint('minPause', '0 ms', DURATION, 'least time from the end of one checkpoint to the start of the next'),
  checkpoint('maxConcurrent', '1', `1 to ${MAX_INT}`, 'checkpoints that may be in progress at once'),
  checkpoint('tolerableFailures', '0', `0 to ${MAX_INT}`, 'consecutive checkpoint failures tolerated before the job fails'),
  checkpoint('retention', 'NO_EXTERNALIZED_CHECKPOINTS', 'NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION, RETAIN_ON_CANCELLATION', 'whether retained checkpoints are kept when the job fails or is cancelled'),
  checkpoint('numRetained', '1', `1 to ${MAX_INT}`, 'completed checkpoints kept'),
  checkpoint('unalignedEnabled', 'false', 'false (true is not supported yet)', 'unaligned checkpoints; tsflink\'s checkpoints are always aligned'),
  checkpoint('alignedCheckpointTimeout', '0 ms', '0 (other values are not supported yet)', 'with unaligned checkpoints: start aligned and switch to unaligned after this long'),
  checkpoint('incremental', 'false', 'true, false', 'incremental checkpoints: a checkpoint writes what changed since the last completed one into `<dir>/<jobId>/shared/` and refers to the rest; savepoints stay full'),
  checkpoint('dir', NO_DEFAULT, 'a local path or s3://bucket/path', 'where checkpoints are written (`<dir>/<jobId>/chk-<n>/`); needed for periodic checkpoints'),
  checkpoint('savepointDir', NO_DEFAULT, 'a local path or s3://bucket/path', 'default target directory of savepoints'),
  checkpoint('localBackup', 'false', 'true, false', 'local recovery: each subtask also keeps a local copy of the files it writes for a checkpoint and a restart reads those copies (when they match _metadata) instead of the checkpoint storage; unset: execution.state-recovery.from-local'),
  spec(LOCAL_RECOVERY_KEY.key, 'false', 'true, false', 'Flink 2\'s switch for restoring from local copies: true turns local recovery on when execution.checkpointing.local-backup.enabled is unset; false with local-backup.enabled true is refused (tsflink restores from the copies whenever it keeps them)', checkpointValue, LOCAL_RECOVERY_KEY.deprecated),
  checkpoint('localRootDir', '<tmpdir>/tsflink-local-state', 'a local path (one)', 'where local recovery keeps its copies: `<dir>/<jobId>/chk-<n>/`, deleted when the checkpoint is subsumed or aborted and when the job ends'),
  spec('state.backend.type', 'hashmap', 'hashmap, rocksdb, lmdb', 'where working state lives', (v, k) => void parseStateBackendType(k, v), ['state.backend']),
  spec('state.backend.rocksdb.localdir', '<tmpdir>', 'one local path', 'where rocksdb subtasks make their working directories (one per job, operator, subtask and attempt, removed when the subtask ends)', (v, k) => void parseLocalDir(k, v)),
  spec('state.backend.lmdb.localdir', '<tmpdir>', 'one local path', 'the same for lmdb (tsflink\'s key)', (v, k) => void parseLocalDir(k, v)),
  spec('state.backend.embedded.cache-size', '64 mb', 'a memory size, at least 64 kb', 'write-back cache of each rocksdb or lmdb subtask, in front of its store (tsflink\'s key)', (v, k) => void parseMemorySize(k, v, MIN_CACHE_BYTES)),
  spec('state.backend.rocksdb.timer-service.factory', 'ROCKSDB', TIMER_SERVICE_FACTORIES.join(', '), 'where the timer queues of a rocksdb or lmdb backend live: ROCKSDB in its store, HEAP in memory', (v, k) => void parseTimerServiceFactory(k, v)),
  spec(RESTART_STRATEGY_TYPE_KEY, NO_DEFAULT, [...RESTART_STRATEGY_NAMES.keys()].join(', '), 'restart strategy; unset: the job\'s own, else none without checkpointing and fixed-delay (unlimited attempts, 1 s) with it', (v, k) => void parseRestartStrategyType(v, k), RESTART_STRATEGY_TYPE_DEPRECATED_KEYS),
  ...Object.values(RESTART_PARAMETERS).map((p) => spec(p.key, p.default, p.allowed, p.description, (v) => void p.parse(v))),
  spec(WORKER_HEAP_KEY, NO_DEFAULT, `${MEMORY_SIZE_SYNTAX}; at least ${MIN_WORKER_HEAP_MB} mb`, 'task heap of a TaskManager, shared by its slots (each slot thread gets its share as its V8 heap limit); set where the TaskManagers start (a run asking for another is refused); a slot that exhausts it fails the job\'s attempt in one line; unset: Node\'s default', (v, k) => void workerHeapLimitMb({ [k]: v }, k)),
  spec(
    TASK_SLOTS_KEY,
    "the TaskManager's CPU cores (Flink: 1)",
    `1 to ${MAX_TASK_SLOTS}`,
    "task slots of each TaskManager (those flink cluster start and flink run start, and flink taskmanager), one worker thread each: a job takes as many slots as its highest parallelism, subtask i of every operator in slot i, from as many TaskManagers as that needs; unset, a TaskManager offers its cores, not Flink's 1, since a slot is one JavaScript thread and one TaskManager should use the machine; set where the TaskManagers start (a run asking for another is refused)",
    (v, k) => void parseWholeNumber(k, v, 1, MAX_TASK_SLOTS),
  ),
  spec(TASK_MANAGER_COUNT_KEY, '1 (flink jobmanager alone: 0)', '0 to 64', 'local TaskManagers the JobManager starts (and starts again when one dies) with flink cluster start, and with flink run when it starts its own cluster; flink jobmanager in the foreground starts none unless set; 0: jobs run on TaskManagers started by hand (flink taskmanager), and wait for their slots up to slot.request.timeout (tsflink\'s key)', (v, k) => void parseWholeNumber(k, v, 0, 64)),
  spec(TASK_MANAGER_HOST_KEY, 'the value of taskmanager.bind-host', 'a host name or IP address', 'address of a TaskManager that the JobManager and other TaskManagers connect to', (v, k) => void parseNonEmpty(k, v)),
  spec(HEARTBEAT_INTERVAL_KEY, '10 s', `${DURATION}; at least 10 ms`, 'how often a TaskManager heartbeats to the JobManager', (v, k) => void parseDurationAtLeast(k, v, 10)),
  spec(TASK_MANAGER_HEARTBEAT_TIMEOUT_KEY, '50 s', `${DURATION}; at least 10 ms`, 'a TaskManager silent this long is lost: its slots are gone and jobs using them restart', (v, k) => void parseDurationAtLeast(k, v, 10)),
  spec(SLOT_REQUEST_TIMEOUT_KEY, '5 min', `${DURATION}; at least 10 ms`, 'how long a job waits for enough free task slots before it fails', (v, k) => void parseDurationAtLeast(k, v, 10)),
  spec(MAX_SLOTS_KEY, `${UNBOUNDED_SLOTS} (no limit)`, `1 to ${UNBOUNDED_SLOTS}`, 'task slots of all TaskManagers together beyond which the JobManager starts no more local TaskManagers for jobs waiting for slots', (v, k) => void parseWholeNumber(k, v, 1, UNBOUNDED_SLOTS)),
  spec(TASK_MANAGER_IDLE_TIMEOUT_KEY, '30 s', `${DURATION}; at least 10 ms`, 'a local TaskManager the JobManager started beyond taskmanager.count that held no slot this long is stopped', (v, k) => void parseDurationAtLeast(k, v, 10)),
  spec(
    TASK_CANCELLATION_TIMEOUT_KEY,
    '180000 (3 min)',
    `${DURATION}; at most 2147483647 ms, or 0 for none`,
    "how long the subtasks of a cancelled attempt (a failure that restarts the job, flink cancel) may take to stop before the slot threads still running them are terminated (Flink makes it a fatal error of the TaskManager); 0: wait for them for ever; read from the job's configuration",
    (v, k) => void parseTaskCancellationTimeout(k, v),
  ),
  spec(SPREAD_OUT_SLOTS_KEY, 'false', 'true, false', 'give a job slots round-robin over the TaskManagers with the most free slots instead of filling one TaskManager first', (v, k) => void parseBoolean(k, v)),
  spec('parallelism.default', '1', `1 to ${UPPER_BOUND_MAX_PARALLELISM}`, 'parallelism of operators that set none', (v, k) => void parseWholeNumber(k, v, 1, UPPER_BOUND_MAX_PARALLELISM)),
  spec('pipeline.max-parallelism', NO_DEFAULT, `1 to ${UPPER_BOUND_MAX_PARALLELISM} (-1: unset)`, 'number of key groups, the upper limit for rescaling; unset: derived from the parallelism', (v, k) => void parseWholeNumber(k, v, 1, UPPER_BOUND_MAX_PARALLELISM, { value: -1, means: 'unset' })),
  spec('pipeline.name', NO_DEFAULT, 'any text', 'job name, when the job does not give one to execute()', () => undefined),
  spec('rest.address', '127.0.0.1', 'a host name or IP address', 'where the CLI finds the cluster\'s REST endpoint', (v, k) => void parseNonEmpty(k, v)),
  spec('rest.bind-address', 'the value of rest.address', 'a host name or IP address', 'address the cluster\'s REST server listens on', (v, k) => void parseNonEmpty(k, v)),
  spec('blob.storage.directory', 'the system\'s temporary directory', 'a directory', 'where the JobManager keeps submitted job code (in tsflink-jobmanager-blobs-<hash of its working directory>/ under it; unset: its working directory\'s blobs/) and TaskManagers cache the code of the jobs deployed to them (each in a directory of its own under it)', (v, k) => void parseNonEmpty(k, v)),
  spec('rest.server.max-content-length', '104857600', 'bytes, a whole number >= 1024', 'largest request body the REST server accepts (a job submission carries the job\'s bundled code)', (v, k) => void parseWholeNumber(k, v, 1024, Number.MAX_SAFE_INTEGER)),
  spec(ASYNC_STORE_DURATION_KEY, '5 min', `${DURATION}; under 1 s (0 included): for ever`, 'how long the JobManager keeps the result of a completed asynchronous operation (savepoint, stop, checkpoint, savepoint disposal) for its status request; after that its trigger id is unknown (404), as Flink\'s', (v, k) => void parseAsyncStoreDuration(k, v)),
  spec(JOBSTORE_EXPIRATION_TIME_KEY, '3600', 'whole seconds, 0 or more (a number, not a duration, as Flink\'s)', 'how long after it ended (FINISHED, CANCELED, FAILED) the JobManager keeps a job\'s record, for flink list -a and REST; then its id is unknown (404), its record file is deleted, and its retained checkpoints and savepoints stay; 0: as soon as it ends', (v, k) => void parseJobStoreExpiration(k, v)),
  spec(JOBSTORE_MAX_CAPACITY_KEY, `${MAX_JOBSTORE_CAPACITY} (no limit)`, `0 to ${MAX_JOBSTORE_CAPACITY}`, 'finished jobs the JobManager keeps at most; beyond it the one that ended first is dropped as by jobstore.expiration-time', (v, k) => void parseJobStoreMaxCapacity(k, v)),
  spec(JOBSTORE_TYPE_KEY, 'File', 'File, in any case (Memory is refused)', 'where the JobManager keeps jobs\' records: File, one file per job in its working directory (which a restarted JobManager resumes running jobs from)', (v, k) => void parseJobStoreType(k, v)),
  spec('rest.port', '8081', '0 to 65535 (0: any free port), except the ports Node\'s fetch refuses (WHATWG "bad ports")', 'port of the cluster\'s REST endpoint', (v, k) => void parseRestPort(k, v)),
  spec('jobmanager.rpc.address', NO_DEFAULT, 'a host name or IP address', 'where every command finds the JobManager (with rest.port: tsflink has no separate RPC port) when neither -m nor rest.address is given, as Flink reads it in place of an unset rest.address', (v, k) => void parseNonEmpty(k, v)),
  spec(DEPLOYMENT_TARGET_KEY, 'remote', 'remote, in any case', 'deployment target, as -t: remote, the cluster at -m or rest.address:rest.port, is the only one tsflink has; any other is refused', (v, k) => {
    if (!isRemoteTarget(v)) fail(k, `'${v}': ${unsupportedTargetReason(v)}: set it to remote or remove it`);
  }),
  spec('process.jobmanager.working-dir', '<tmpdir>/tsflink-jobmanager-<rest.port>', 'a local path', 'the cluster\'s working directory', (v, k) => void parseNonEmpty(k, v)),
  spec('execution.state-recovery.path', NO_DEFAULT, 'a savepoint or retained checkpoint directory, or its _metadata', 'restore jobs from this snapshot (like run -s)', (v, k) => void parseNonEmpty(k, v), ['execution.savepoint.path']),
  spec('execution.state-recovery.ignore-unclaimed-state', 'false', 'true, false', 'allow restoring when snapshot state has no operator in the job (like run -n)', (v, k) => void parseBoolean(k, v), ['execution.savepoint.ignore-unclaimed-state']),
  spec('execution.state-recovery.claim-mode', 'NO_CLAIM', CLAIM_MODES.join(', '), 'whether the restored job takes ownership of the snapshot it starts from (like run --claimMode)', (v, k) => void parseChoice(k, v, CLAIM_MODES), ['execution.savepoint-restore-mode']),
  spec(BIND_HOST_KEY, '127.0.0.1', 'a host name or IP address; other than loopback only with security.network.shared-secret', 'address a TaskManager\'s data port (the network stack\'s TCP server) listens on', (v, k) => void parseNonEmpty(k, v)),
  spec(DATA_PORT_KEY, '0', '0 to 65535 (0: any free port)', 'port of a TaskManager\'s data port', (v, k) => void parseDataPort(k, v)),
  spec(BUFFERS_PER_CHANNEL_KEY, '8', '1 to 1024', 'credits per channel: batches (of up to 512 records) a receiving channel holds before its sender waits', (v, k) => void parseBuffersPerChannel(k, v)),
  spec(HEARTBEAT_TIMEOUT_KEY, '10 s', `${DURATION}; at least 10 ms`, 'a network link that received nothing (not even a heartbeat) for this long is lost and its channels fail (tsflink\'s key)', (v, k) => void parseHeartbeatTimeout(k, v)),
  spec(SHARED_SECRET_KEY, NO_DEFAULT, 'text of at least 16 characters', 'shared secret both ends of a network link prove they know (HMAC challenge-response) before any data; needed to bind the data port to a non-loopback address (tsflink\'s key)', (v, k) => void parseSecret(k, v)),
  spec('s3.endpoint', 'AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS', 'a URL, e.g. http://127.0.0.1:9000', 'S3 endpoint for s3:// paths (MinIO, s3rver, ...)', () => undefined),
  spec('s3.path.style.access', 'true when s3.endpoint is set', 'true, false', 'path-style S3 URLs', (v, k) => {
    if (v !== 'true' && v !== 'false') fail(k, `'${v}' is not one of true, false`);
  }),
];

/** Every accepted name, deprecated ones included, to its spec. */
export const SPEC_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(KEY_SPECS.flatMap((s) => [s.key, ...s.deprecatedKeys].map((k) => [k, s] as const)));

export function describeKeySpecs(): readonly KeyDescription[] {
  return KEY_SPECS.map(({ key, default: def, allowed, description, deprecatedKeys }) => ({ key, default: def, allowed, description, deprecatedKeys }));
}

/**
 * Key families whose behaviour tsflink owns (checkpoints, state backends, recovery, restarts): a
 * Flink key in one of them that tsflink does not read would change what Flink does but not what
 * tsflink does, so it is refused rather than warned about and ignored. Keys of other families stay
 * warnings, as Flink ignores keys it does not know. The last two are Flink's deprecated names of
 * execution.checkpointing keys (storage, data-inline-threshold, write-buffer-size).
 */
export const REFUSED_KEY_FAMILIES: readonly string[] = [
  'execution.checkpointing.',
  'state.backend.',
  'state.checkpoints.',
  'state.savepoints.',
  'execution.state-recovery.',
  'restart-strategy.',
  'state.checkpoint-storage',
  'state.storage.',
  'task.cancellation',
  'jobstore.',
  // flink run sets both from its flags (Flink's ProgramOptions.applyToConfiguration), so a value
  // here would look like it did something.
  'execution.attached',
  'execution.shutdown-on-attached-exit',
];

const EMBEDDED_MEMORY = 'the memory of the rocksdb and lmdb backends is set with state.backend.embedded.cache-size (each subtask\'s write-back cache in front of its store; RocksDB\'s own is left at its defaults)';

const CANCELLATION_INTERVAL = "a slot's subtasks get one cancel, as soon as their thread's event loop is free, and JavaScript has no interrupt that repeating it could deliver; a slot that has not stopped after task.cancellation.timeout is terminated: set that instead";

/** What to use instead, by key or key prefix; the first match wins, so longer prefixes come first. */
const REFUSED_KEY_HINTS: readonly (readonly [string, string])[] = [
  ['state.backend.rocksdb.memory.', EMBEDDED_MEMORY],
  ['state.backend.rocksdb.block.', EMBEDDED_MEMORY],
  ['state.backend.rocksdb.writebuffer.', EMBEDDED_MEMORY],
  ['state.backend.rocksdb.', 'tsflink opens RocksDB with its defaults and reads only state.backend.rocksdb.localdir and state.backend.rocksdb.timer-service.factory; memory: state.backend.embedded.cache-size'],
  ['state.backend.changelog.', 'tsflink has no changelog state backend; for small checkpoints of large state use execution.checkpointing.incremental: true'],
  ['execution.checkpointing.create-subdir', 'checkpoints always go to <dir>/<jobId>/chk-<n> (as with Flink\'s default, true); remove it'],
  ['state.checkpoints.create-subdir', 'checkpoints always go to <dir>/<jobId>/chk-<n> (as with Flink\'s default, true); remove it'],
  ['execution.checkpointing.file-merging.', 'file merging is not supported: each subtask writes its own files for each checkpoint'],
  ['execution.checkpointing.storage', 'checkpoints go to execution.checkpointing.dir (a local path or s3://bucket/path)'],
  ['state.checkpoint-storage', 'checkpoints go to execution.checkpointing.dir (a local path or s3://bucket/path)'],
  ['execution.checkpointing.unaligned.', 'tsflink has no unaligned checkpoints: checkpoints are aligned'],
  ['task.cancellation.interval', CANCELLATION_INTERVAL],
  ['task.cancellation-interval', CANCELLATION_INTERVAL],
  ['execution.attached', 'flink run follows its job unless -d is given, and sets this key from that as Flink\'s run does, so a value here would change nothing: use -d for a detached run, and remove the key'],
  ['execution.shutdown-on-attached-exit', 'flink run sets this key from -sae as Flink\'s run does, and tsflink refuses -sae (an attached run cancels its job on Ctrl-C; SIGTERM, SIGHUP and a client that dies do not cancel it): remove the key'],
  ['jobstore.cache-size', "a finished job's record stays in the JobManager's memory, whole, until jobstore.expiration-time or jobstore.max-capacity drops it (there is no smaller cache in front of the files): bound it with those"],
  ['task.cancellation.timers.timeout', "a subtask's timers run on its slot's thread and stop with it: task.cancellation.timeout bounds the whole stop"],
];

/**
 * Throws the one-line refusal (UserError, exit 1) for a key of REFUSED_KEY_FAMILIES that is not in
 * `known`; returns for every other key. The line names the key and what to use instead: the
 * nearest known key when the key looks like a typo of it, else a hint for the keys newcomers
 * bring from Flink, else where the keys tsflink reads are listed.
 */
export function refuseUnimplementedKey(key: string, known: ReadonlySet<string>): void {
  if (known.has(key) || !REFUSED_KEY_FAMILIES.some((family) => key.startsWith(family))) return;
  // A typo of a key tsflink reads is the likelier mistake than a Flink key it lacks.
  const near = nearestKey(key, known);
  if (near !== undefined) fail(key, `not a key tsflink knows; did you mean ${near}?`);
  const hint = REFUSED_KEY_HINTS.find(([prefix]) => key.startsWith(prefix))?.[1];
  if (hint !== undefined) fail(key, `tsflink does not implement this key; ${hint}`);
  fail(key, 'tsflink does not implement this key and refuses it rather than ignore it; remove it (README\'s Configuration table lists the keys tsflink reads)');
}

/** The known key at most two edits away (a typo), if there is exactly one nearest. */
function nearestKey(key: string, known: ReadonlySet<string>): string | undefined {
  const limit = 3;
  let best: string | undefined;
  let bestDistance = limit;
  let tie = false;
  for (const candidate of known) {
    const d = editDistance(key, candidate, limit);
    if (d < bestDistance) [best, bestDistance, tie] = [candidate, d, false];
    else if (d === bestDistance && d < limit) tie = true;
  }
  return tie ? undefined : best;
}

/** Levenshtein distance, or `limit` once it is at least that (the rest is not needed). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    if (Math.min(...row) >= limit) return limit;
    previous = row;
  }
  return Math.min(previous[b.length]!, limit);
}
