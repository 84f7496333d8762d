/**
 * Which keyed state backend a job uses: `state.backend.type` (Flink's key and values) or
 * `env.setStateBackend(...)`: `hashmap` (the heap), `rocksdb` and `lmdb` (on disk, embedded/).
 * A type named here before it is built is refused in one line (refuseUnbuiltStateBackend).
 */
import { UserError } from '../../errors.ts';

export const STATE_BACKEND_TYPES = ['hashmap', 'rocksdb', 'lmdb'] as const;
export type StateBackendType = (typeof STATE_BACKEND_TYPES)[number];

/** The ones that exist; an issue that builds one adds it here and in create-keyed-state-backend.ts. */
export const BUILT_STATE_BACKEND_TYPES = ['hashmap', 'rocksdb', 'lmdb'] as const satisfies readonly StateBackendType[];
export type BuiltStateBackendType = (typeof BUILT_STATE_BACKEND_TYPES)[number];

export const DEFAULT_STATE_BACKEND: BuiltStateBackendType = 'hashmap';

/** What the on-disk backends take from the configuration; every field optional. */
export interface StateBackendOptions {
  /** `state.backend.rocksdb.localdir`: where rocksdb subtasks make their working directories. */
  readonly rocksdbLocalDir?: string;
  /** `state.backend.lmdb.localdir`: the same for lmdb. */
  readonly lmdbLocalDir?: string;
  /** `state.backend.embedded.cache-size`: each subtask's write-back cache, in bytes. */
  readonly cacheBytes?: number;
  /** `state.backend.rocksdb.timer-service.factory`: timer queues in the store (ROCKSDB, the default) or in memory. */
  readonly timerService?: 'HEAP' | 'ROCKSDB';
}

/** The class name Flink's REST API reports as a job's `state_backend`. */
export const STATE_BACKEND_CLASS_NAMES: Readonly<Record<StateBackendType, string>> = {
  hashmap: 'HashMapStateBackend',
  rocksdb: 'EmbeddedRocksDBStateBackend',
  // Flink has none; named in the same style.
  lmdb: 'EmbeddedLmdbStateBackend',
};

/** Flink matches the type ignoring case; throws UserError (exit 1) for an unknown one. */
export function parseStateBackendChoice(where: string, value: string): StateBackendType {
  const name = value.trim().toLowerCase();
  const found = STATE_BACKEND_TYPES.find((t) => t === name);
  if (found !== undefined) return found;
  // Flink 1's names, which Flink 2 no longer takes: both kept state on the heap, as hashmap does.
  const legacy = LEGACY_HEAP_NAMES.get(name);
  if (legacy !== undefined) throw new UserError(`${where}: '${value}' is Flink 1's name for ${legacy}; use hashmap (with execution.checkpointing.dir for where checkpoints go)`, 1);
  throw new UserError(`${where}: '${value}' is not one of ${STATE_BACKEND_TYPES.join(', ')}`, 1);
}

const LEGACY_HEAP_NAMES: ReadonlyMap<string, string> = new Map([
  ['filesystem', 'the heap state backend with checkpoints in files (FsStateBackend)'],
  ['jobmanager', 'the heap state backend with checkpoints in the JobManager (MemoryStateBackend)'],
]);

/**
 * The type itself when it is built; else throws the one-line refusal (exit 1). `value` is what
 * the user wrote, quoted back as written.
 */
export function refuseUnbuiltStateBackend(where: string, type: StateBackendType, value: string = type): BuiltStateBackendType {
  if (isBuilt(type)) return type;
  throw new UserError(
    `${where}: '${value}' is not supported yet; use hashmap, the default: state is kept in memory and written by checkpoints`,
    1,
  );
}

function isBuilt(type: StateBackendType): type is BuiltStateBackendType {
  return (BUILT_STATE_BACKEND_TYPES as readonly StateBackendType[]).includes(type);
}
