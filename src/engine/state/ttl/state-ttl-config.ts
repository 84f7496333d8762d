/**
 * Flink's StateTtlConfig: how long a keyed state value lives after its last access, what counts
 * as an access, whether an expired value may still be returned, and when expired values are
 * cleaned up. The defaults are Flink's (its Builder): OnCreateAndWrite, NeverReturnExpired,
 * processing time, cleanup in background on (incremental cleanup of 5 entries per state access,
 * not per record, on every backend), no full-snapshot cleanup.
 *
 * What is not built is refused in one line naming the option: a time characteristic other than
 * processing time (Flink has no other), and RocksDB compaction-filter cleanup (tsflink's on-disk
 * backends sweep expired state incrementally instead).
 */
import { UserError } from '../../../errors.ts';
import { TTL_UPDATE_TYPES, TTL_VISIBILITIES, type TtlConfig } from '../../../format/model.ts';

export type TtlUpdateType = TtlConfig['update'];
export type TtlStateVisibility = TtlConfig['visibility'];

export interface IncrementalCleanup {
  /** Entries checked per state access (Flink's cleanupSize), > 0. */
  readonly cleanupSize: number;
  /** Also check `cleanupSize` entries for every record processed. */
  readonly runCleanupForEveryRecord: boolean;
}

/**
 * What a state descriptor's `ttl` takes. The three fields of TtlConfig are what `_metadata`
 * records (FORMAT.md 3.5); the rest only steers cleanup. A literal `{ ttlMs, update, visibility }`
 * is accepted and gets Flink's defaults for the rest.
 */
export interface StateTtlConfig extends TtlConfig {
  /** Flink's TtlTimeCharacteristic: only `ProcessingTime` exists. */
  readonly timeCharacteristic?: 'ProcessingTime';
  /** Expired entries are not written to checkpoints and savepoints. */
  readonly cleanupFullSnapshot?: boolean;
  /** A cursor over the state's keys that removes expired entries as it passes (every backend). */
  readonly cleanupIncrementally?: IncrementalCleanup | null;
  /** Flink's default cleanup (incremental 5/false); false as `disableCleanupInBackground()`. */
  readonly cleanupInBackground?: boolean;
  /** Flink's `cleanupInRocksdbCompactFilter(n)`: refused; the on-disk backends sweep incrementally instead. */
  readonly cleanupInRocksdbCompactFilter?: number;
}

/** A StateTtlConfig with every option decided, as the TTL handles use it. */
export interface ResolvedTtl extends TtlConfig {
  readonly fullSnapshot: boolean;
  readonly incremental: IncrementalCleanup | null;
  /**
   * `cleanupIncrementally` was asked for by name, not implied by background cleanup. The on-disk
   * backends sweep only then: their sweep reads the store, which costs far more than the heap's.
   */
  readonly incrementalAsked: boolean;
}

const COMPACT_FILTER_REFUSED =
  "cleanupInRocksdbCompactFilter is not supported: tsflink's on-disk backends sweep expired state incrementally (cleanupIncrementally) instead; remove it";

/** Flink's IncrementalCleanupStrategy.DEFAULT_INCREMENTAL_CLEANUP_STRATEGY. */
export const DEFAULT_INCREMENTAL_CLEANUP: IncrementalCleanup = { cleanupSize: 5, runCleanupForEveryRecord: false };

/** Checks a descriptor's ttl and fills in Flink's defaults; refuses what is not built, in one line. */
export function resolveTtl(stateName: string, ttl: StateTtlConfig): ResolvedTtl {
  return resolve(`keyed state '${stateName}'`, ttl);
}

function resolve(owner: string, ttl: StateTtlConfig): ResolvedTtl {
  const refuse = (_: string, problem: string): never => {
    throw new UserError(`${owner}: ${problem}`, 1);
  };
  const stateName = owner;
  if (typeof ttl !== 'object' || ttl === null) refuse(stateName, 'ttl must be a StateTtlConfig (StateTtlConfig.newBuilder(ms).build())');
  if (!Number.isSafeInteger(ttl.ttlMs) || ttl.ttlMs <= 0) refuse(stateName, `ttl ${String(ttl.ttlMs)} ms: TTL is expected to be a positive whole number of milliseconds`);
  const update = ttl.update as string;
  if (update === 'Disabled') refuse(stateName, "ttl update type 'Disabled': declare the state without ttl instead");
  if (!(TTL_UPDATE_TYPES as readonly string[]).includes(update)) refuse(stateName, `ttl update type '${update}' is not one of ${TTL_UPDATE_TYPES.join(', ')}`);
  if (!(TTL_VISIBILITIES as readonly string[]).includes(ttl.visibility)) {
    refuse(stateName, `ttl state visibility '${String(ttl.visibility)}' is not one of ${TTL_VISIBILITIES.join(', ')}`);
  }
  const time = ttl.timeCharacteristic as string | undefined;
  if (time !== undefined && time !== 'ProcessingTime') {
    refuse(stateName, `ttl time characteristic '${time}' is not supported; state TTL runs on processing time only (as Flink's)`);
  }
  if (ttl.cleanupInRocksdbCompactFilter !== undefined) {
    refuse(stateName, `ttl ${COMPACT_FILTER_REFUSED}`);
  }
  const explicit = ttl.cleanupIncrementally ?? null;
  if (explicit !== null && (!Number.isSafeInteger(explicit.cleanupSize) || explicit.cleanupSize <= 0)) {
    refuse(stateName, `ttl cleanupIncrementally(${String(explicit.cleanupSize)}): the number of entries to check must be a whole number > 0`);
  }
  // Flink's CleanupStrategies.getIncrementalCleanupStrategy: the explicit one, else the default while background cleanup is on.
  const incremental = explicit ?? (ttl.cleanupInBackground === false ? null : DEFAULT_INCREMENTAL_CLEANUP);
  return {
    ttlMs: ttl.ttlMs,
    update: ttl.update,
    visibility: ttl.visibility,
    fullSnapshot: ttl.cleanupFullSnapshot === true,
    incremental: incremental === null ? null : { cleanupSize: incremental.cleanupSize, runCleanupForEveryRecord: incremental.runCleanupForEveryRecord === true },
    incrementalAsked: explicit !== null,
  };
}

/** Flink's StateTtlConfig.Builder, with its defaults. */
export class StateTtlConfigBuilder {
  #ttlMs: number;
  #update: TtlUpdateType = 'OnCreateAndWrite';
  #visibility: TtlStateVisibility = 'NeverReturnExpired';
  #fullSnapshot = false;
  #incremental: IncrementalCleanup | null = null;
  #inBackground = true;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  setTtl(ttlMs: number): this {
    this.#ttlMs = ttlMs;
    return this;
  }

  setUpdateType(update: TtlUpdateType): this {
    this.#update = update;
    return this;
  }

  updateTtlOnCreateAndWrite(): this {
    return this.setUpdateType('OnCreateAndWrite');
  }

  updateTtlOnReadAndWrite(): this {
    return this.setUpdateType('OnReadAndWrite');
  }

  setStateVisibility(visibility: TtlStateVisibility): this {
    this.#visibility = visibility;
    return this;
  }

  returnExpiredIfNotCleanedUp(): this {
    return this.setStateVisibility('ReturnExpiredIfNotCleanedUp');
  }

  neverReturnExpired(): this {
    return this.setStateVisibility('NeverReturnExpired');
  }

  /** Processing time is the only time characteristic (as in Flink); anything else is refused. */
  setTtlTimeCharacteristic(characteristic: 'ProcessingTime'): this {
    if ((characteristic as string) !== 'ProcessingTime') {
      throw new UserError(`StateTtlConfig: time characteristic '${String(characteristic)}' is not supported; state TTL runs on processing time only (as Flink's)`, 1);
    }
    return this;
  }

  useProcessingTime(): this {
    return this;
  }

  cleanupFullSnapshot(): this {
    this.#fullSnapshot = true;
    return this;
  }

  cleanupIncrementally(cleanupSize: number, runCleanupForEveryRecord: boolean): this {
    this.#incremental = { cleanupSize, runCleanupForEveryRecord };
    return this;
  }

  /** Refused: the on-disk backends sweep expired state incrementally instead of in compaction. */
  cleanupInRocksdbCompactFilter(_queryTimeAfterNumEntries = 1000): this {
    throw new UserError(`StateTtlConfig: ${COMPACT_FILTER_REFUSED}`, 1);
  }

  disableCleanupInBackground(): this {
    this.#inBackground = false;
    return this;
  }

  build(): StateTtlConfig {
    const config: StateTtlConfig = {
      ttlMs: this.#ttlMs,
      update: this.#update,
      visibility: this.#visibility,
      timeCharacteristic: 'ProcessingTime',
      cleanupFullSnapshot: this.#fullSnapshot,
      cleanupIncrementally: this.#incremental,
      cleanupInBackground: this.#inBackground,
    };
    resolve('StateTtlConfig', config);
    return config;
  }
}

/** `StateTtlConfig.newBuilder(ttlMs)`, as Flink's (a duration in milliseconds here). */
export const StateTtlConfig = {
  newBuilder(ttlMs: number): StateTtlConfigBuilder {
    return new StateTtlConfigBuilder(ttlMs);
  },
} as const;
