/**
 * The one place a subtask's keyed backend is made, from the job's `state.backend.type`. A
 * backend that gets built adds its line to KEYED_STATE_BACKENDS (and leaves the refusal in
 * state-backend-type.ts); the handle contract suite runs against every backend listed here.
 */
import { createEmbeddedKeyedStateBackend } from './embedded/create-embedded-backend.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import type { KeyedStateBackend, KeyedStateBackendOptions } from './keyed-state-backend.ts';
import { type BuiltStateBackendType, type StateBackendType, refuseUnbuiltStateBackend } from './state-backend-type.ts';

export type KeyedStateBackendFactory = (options: KeyedStateBackendOptions) => KeyedStateBackend;

export const KEYED_STATE_BACKENDS: Readonly<Record<BuiltStateBackendType, KeyedStateBackendFactory>> = {
  hashmap: (options) => new HeapKeyedStateBackend(options),
  rocksdb: (options) => createEmbeddedKeyedStateBackend('rocksdb', options),
  lmdb: (options) => createEmbeddedKeyedStateBackend('lmdb', options),
};

export function createKeyedStateBackend(type: StateBackendType, options: KeyedStateBackendOptions): KeyedStateBackend {
  return KEYED_STATE_BACKENDS[refuseUnbuiltStateBackend('state.backend.type', type)](options);
}
