/**
 * Checkpoint settings: Flink's `execution.checkpointing.*` keys, their defaults (Flink 2.x
 * `CheckpointingOptions`) and the checks Flink's `CheckpointConfig` setters make. Pure: the
 * caller reads `config.yaml` and `-D` flags into a map first.
 */
import { UserError } from '../../errors.ts';
import { DURATION_SYNTAX, parseFlinkDuration } from './flink-duration.ts';
import { refuseUnbuiltSettings } from './unbuilt-settings.ts';

export type CheckpointingMode = 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';

/**
 * What happens to retained checkpoints when the job ends (Flink's `ExternalizedCheckpointRetention`):
 * - `NO_EXTERNALIZED_CHECKPOINTS` (Flink's default): deleted however the job ends.
 * - `DELETE_ON_CANCELLATION`: kept when the job fails, deleted when it is cancelled or finishes.
 * - `RETAIN_ON_CANCELLATION`: kept when the job fails or is cancelled, deleted when it finishes.
 * (`retention.ts` has the table, with Flink's `CheckpointProperties` behind it.)
 */
export type CheckpointRetention = 'NO_EXTERNALIZED_CHECKPOINTS' | 'DELETE_ON_CANCELLATION' | 'RETAIN_ON_CANCELLATION';

export interface CheckpointConfig {
  /** Milliseconds between periodic checkpoints; null: no periodic checkpoints (savepoints still work). */
  readonly interval: number | null;
  readonly mode: CheckpointingMode;
  /** Milliseconds a checkpoint or savepoint may take before it is expired. */
  readonly timeout: number;
  /** Milliseconds from the end of the last completed checkpoint to the next periodic one. */
  readonly minPause: number;
  readonly maxConcurrent: number;
  /** Consecutive counted checkpoint failures tolerated before the job is failed. */
  readonly tolerableFailures: number;
  readonly numRetained: number;
  readonly retention: CheckpointRetention;
  readonly unalignedEnabled: boolean;
  /** Only with unaligned checkpoints: 0 starts unaligned, otherwise aligned until this many ms. */
  readonly alignedCheckpointTimeout: number;
  readonly incremental: boolean;
  readonly dir: string | null;
  readonly savepointDir: string | null;
  /** Local recovery: subtasks keep a local copy of their checkpoint files and restore from it first. */
  readonly localBackup: boolean;
  /** Where local copies go (`<dir>/<jobId>/chk-<n>/`); null: `tsflink-local-state` under the system temp dir. */
  readonly localRootDir: string | null;
}

/** Flink's `CheckpointCoordinatorConfiguration.MINIMAL_CHECKPOINT_TIME`, for interval and timeout. */
export const MINIMAL_CHECKPOINT_TIME = 10;

/** Java's Integer.MAX_VALUE: Flink's integer options stop there (and it means "unlimited" failures). */
const MAX_INT = 2_147_483_647;

export const defaultCheckpointConfig: CheckpointConfig = Object.freeze({
  interval: null,
  mode: 'EXACTLY_ONCE',
  timeout: 600_000,
  minPause: 0,
  maxConcurrent: 1,
  tolerableFailures: 0,
  numRetained: 1,
  retention: 'NO_EXTERNALIZED_CHECKPOINTS',
  unalignedEnabled: false,
  alignedCheckpointTimeout: 0,
  incremental: false,
  dir: null,
  savepointDir: null,
  localBackup: false,
  localRootDir: null,
});

const PREFIX = 'execution.checkpointing.';

/**
 * The keys read, each with the older names Flink still accepts for it (`withDeprecatedKeys`).
 * The current name wins when both are given, as in Flink.
 */
export const CHECKPOINT_KEYS = {
  interval: { key: `${PREFIX}interval`, deprecated: [] },
  mode: { key: `${PREFIX}mode`, deprecated: [] },
  timeout: { key: `${PREFIX}timeout`, deprecated: [] },
  minPause: { key: `${PREFIX}min-pause`, deprecated: [] },
  maxConcurrent: { key: `${PREFIX}max-concurrent-checkpoints`, deprecated: [] },
  tolerableFailures: { key: `${PREFIX}tolerable-failed-checkpoints`, deprecated: [] },
  retention: { key: `${PREFIX}externalized-checkpoint-retention`, deprecated: [] },
  numRetained: { key: `${PREFIX}num-retained`, deprecated: ['state.checkpoints.num-retained'] },
  unalignedEnabled: { key: `${PREFIX}unaligned.enabled`, deprecated: [`${PREFIX}unaligned`] },
  alignedCheckpointTimeout: { key: `${PREFIX}aligned-checkpoint-timeout`, deprecated: [`${PREFIX}alignment-timeout`] },
  incremental: { key: `${PREFIX}incremental`, deprecated: ['state.backend.incremental'] },
  dir: { key: `${PREFIX}dir`, deprecated: ['state.checkpoints.dir'] },
  savepointDir: { key: `${PREFIX}savepoint-dir`, deprecated: ['state.savepoints.dir'] },
  localBackup: { key: `${PREFIX}local-backup.enabled`, deprecated: [] },
  localRootDir: { key: `${PREFIX}local-backup.dirs`, deprecated: ['taskmanager.state.local.root-dirs'] },
} as const satisfies Record<keyof CheckpointConfig, { key: string; deprecated: readonly string[] }>;

/**
 * Flink 2's switch for restoring from local copies (Flink 1's `state.backend.local-recovery`):
 * unset, `local-backup.enabled` decides alone; `local-backup.enabled` unset falls back to it, as
 * in Flink. tsflink restores from the copies whenever it keeps them, so the two are one setting.
 */
export const LOCAL_RECOVERY_KEY = { key: 'execution.state-recovery.from-local', deprecated: ['state.backend.local-recovery'] } as const;

/** Reads the checkpoint keys of a configuration map; absent keys keep Flink's defaults. */
export function checkpointConfigFromKeys(map: ReadonlyMap<string, string>): CheckpointConfig {
  const read = new KeyReader(map);
  const d = defaultCheckpointConfig;
  return validateCheckpointConfig({
    // Flink's StreamGraph turns any interval below 10 ms read from configuration into "off"; we
    // take only 0 as off and refuse 1-9 ms, because silently not checkpointing is worse than an
    // error.
    interval: read.duration('interval', null, { value: 0, means: null }),
    mode: read.choice('mode', ['EXACTLY_ONCE', 'AT_LEAST_ONCE'], d.mode),
    timeout: read.duration('timeout', d.timeout),
    minPause: read.duration('minPause', d.minPause),
    maxConcurrent: read.integer('maxConcurrent', d.maxConcurrent),
    tolerableFailures: read.integer('tolerableFailures', d.tolerableFailures),
    numRetained: read.integer('numRetained', d.numRetained),
    retention: read.choice(
      'retention',
      ['NO_EXTERNALIZED_CHECKPOINTS', 'DELETE_ON_CANCELLATION', 'RETAIN_ON_CANCELLATION'],
      d.retention,
    ),
    unalignedEnabled: read.boolean('unalignedEnabled', d.unalignedEnabled),
    alignedCheckpointTimeout: read.duration('alignedCheckpointTimeout', d.alignedCheckpointTimeout),
    incremental: read.boolean('incremental', d.incremental),
    dir: read.path('dir'),
    savepointDir: read.path('savepointDir'),
    localBackup: localBackupOf(read.optionalBoolean('localBackup'), read.optionalBoolean(LOCAL_RECOVERY_KEY)),
    localRootDir: read.path('localRootDir'),
  });
}

function localBackupOf(backup: boolean | undefined, fromLocal: boolean | undefined): boolean {
  // Flink would keep copies and never read them; here a copy is always read when intact, so refuse rather than ignore the false.
  if (backup === true && fromLocal === false) {
    throw new UserError(
      `${LOCAL_RECOVERY_KEY.key}: false with ${CHECKPOINT_KEYS.localBackup.key}: true is not supported (tsflink restores from the local copies whenever it keeps them); set ${LOCAL_RECOVERY_KEY.key} to true or leave it unset, or turn ${CHECKPOINT_KEYS.localBackup.key} off`,
    );
  }
  return backup ?? fromLocal ?? defaultCheckpointConfig.localBackup;
}

/** The range each numeric setting must lie in, and what to tell a user who is outside it. */
const LIMITS = {
  interval: { min: MINIMAL_CHECKPOINT_TIME, max: Number.MAX_SAFE_INTEGER, unit: ' ms', why: 'use 0 or leave the key unset to turn periodic checkpoints off' },
  timeout: { min: MINIMAL_CHECKPOINT_TIME, max: Number.MAX_SAFE_INTEGER, unit: ' ms', why: 'a checkpoint cannot complete faster' },
  minPause: { min: 0, max: Number.MAX_SAFE_INTEGER, unit: ' ms', why: '0 means no pause' },
  alignedCheckpointTimeout: { min: 0, max: Number.MAX_SAFE_INTEGER, unit: ' ms', why: '0 starts checkpoints unaligned' },
  maxConcurrent: { min: 1, max: MAX_INT, unit: '', why: 'at least one checkpoint must be allowed to run' },
  tolerableFailures: { min: 0, max: MAX_INT, unit: '', why: `0 fails the job on the first failure, ${MAX_INT} never` },
  // Flink logs a warning and retains 1 instead; a mistyped retention setting should be seen.
  numRetained: { min: 1, max: MAX_INT, unit: '', why: 'the latest checkpoint is always retained' },
} as const satisfies Partial<Record<keyof CheckpointConfig, { min: number; max: number; unit: string; why: string }>>;

type LimitedField = keyof typeof LIMITS;

function checkRange(field: LimitedField, key: string, value: number, shown: string): void {
  const { min, max, unit, why } = LIMITS[field];
  if (!Number.isSafeInteger(value)) throw new UserError(`${key}: '${shown}' is not a whole number`);
  if (value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}${unit}` : `from ${min}${unit} to ${max}${unit}`;
    throw new UserError(`${key}: '${shown}' is out of range: allowed is ${range} (${why})`);
  }
}

/**
 * Checks a whole config: each setting's range, then the combinations. For configs built in code
 * (the DataStream API's `enableCheckpointing`); `checkpointConfigFromKeys` has already checked
 * the ranges against the text the user wrote.
 */
export function validateCheckpointConfig(config: CheckpointConfig): CheckpointConfig {
  const k = (field: keyof CheckpointConfig): string => CHECKPOINT_KEYS[field].key;
  for (const field of Object.keys(LIMITS) as LimitedField[]) {
    const value = config[field];
    if (value !== null) checkRange(field, k(field), value, String(value));
  }
  for (const field of ['dir', 'savepointDir', 'localRootDir'] as const) {
    if (config[field] === '') throw new UserError(`${k(field)}: the directory is empty; give a path or leave the key unset`);
  }
  // Flink spreads subtasks over several root dirs; tsflink uses one, and says so rather than ignore the rest.
  if (config.localRootDir !== null && /[,;]/.test(config.localRootDir)) {
    throw new UserError(`${k('localRootDir')}: '${config.localRootDir}' names several directories; tsflink uses one local root directory, give one path`);
  }
  if (config.localRootDir !== null && /^[a-z][a-z0-9+.-]+:\/\//i.test(config.localRootDir)) {
    throw new UserError(`${k('localRootDir')}: '${config.localRootDir}' is not a local path; local copies live on this machine's disk`);
  }
  refuseUnbuiltSettings(config);
  return config;
}

/**
 * The period of the periodic trigger: Flink's CheckpointCoordinator raises the interval to the
 * minimum pause, since triggering more often than that could only be refused.
 */
export function effectiveInterval(config: CheckpointConfig): number | null {
  return config.interval === null ? null : Math.max(config.interval, config.minPause);
}

/** Reads one setting, preferring the current key over deprecated ones, and names the key it read in errors. */
class KeyReader {
  readonly #map: ReadonlyMap<string, string>;

  constructor(map: ReadonlyMap<string, string>) {
    this.#map = map;
  }

  /** `off`: the one value outside the range that is allowed, and what it stands for. */
  duration<D>(field: LimitedField, fallback: D, off?: { value: number; means: D }): number | D {
    const entry = this.#get(field);
    if (entry === undefined) return fallback;
    const ms = parseFlinkDuration(entry.value);
    if (ms === undefined) throw new UserError(`${entry.key}: '${entry.value}' is not a duration: write ${DURATION_SYNTAX}`);
    if (off !== undefined && ms === off.value) return off.means;
    checkRange(field, entry.key, ms, entry.value);
    return ms;
  }

  integer(field: LimitedField, fallback: number): number {
    const entry = this.#get(field);
    if (entry === undefined) return fallback;
    const text = entry.value.trim();
    if (!/^[+-]?\d+$/u.test(text)) throw new UserError(`${entry.key}: '${entry.value}' is not a whole number`);
    const value = Number(text);
    checkRange(field, entry.key, value, entry.value);
    return value;
  }

  boolean(field: keyof CheckpointConfig, fallback: boolean): boolean {
    return this.optionalBoolean(field) ?? fallback;
  }

  /** undefined: the key is not set under any of its names. */
  optionalBoolean(field: keyof CheckpointConfig | { readonly key: string; readonly deprecated: readonly string[] }): boolean | undefined {
    const entry = this.#get(field);
    if (entry === undefined) return undefined;
    const text = entry.value.trim().toLowerCase();
    if (text !== 'true' && text !== 'false') throw new UserError(`${entry.key}: '${entry.value}' is not one of true, false`);
    return text === 'true';
  }

  /** Flink matches enum values ignoring case. */
  choice<T extends string>(field: keyof CheckpointConfig, allowed: readonly T[], fallback: T): T {
    const entry = this.#get(field);
    if (entry === undefined) return fallback;
    const found = allowed.find((a) => a === entry.value.trim().toUpperCase());
    if (found === undefined) throw new UserError(`${entry.key}: '${entry.value}' is not one of ${allowed.join(', ')}`);
    return found;
  }

  path(field: keyof CheckpointConfig): string | null {
    const entry = this.#get(field);
    return entry === undefined ? null : entry.value.trim();
  }

  #get(field: keyof CheckpointConfig | { readonly key: string; readonly deprecated: readonly string[] }): { key: string; value: string } | undefined {
    const { key, deprecated } = typeof field === 'string' ? CHECKPOINT_KEYS[field] : field;
    for (const name of [key, ...deprecated]) {
      const value = this.#map.get(name);
      if (value !== undefined) return { key: name, value };
    }
    return undefined;
  }
}
