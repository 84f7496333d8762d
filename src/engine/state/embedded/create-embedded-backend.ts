/**
 * Makes an on-disk backend for a subtask: a fresh working directory under `localDir` (the OS temp
 * directory by default; `state.backend.rocksdb.localdir` / `state.backend.lmdb.localdir`), named
 * after the job, operator, subtask and attempt, with the store inside it. `dispose()` destroys the
 * store and removes the directory, whether the subtask finished or failed; a restarted attempt
 * makes a new one (mkdtemp), so it never sees a previous attempt's files.
 *
 * lmdb opens synchronously; @nxtedition/rocksdb only asynchronously, so its store is an
 * OpeningStore that holds writes in memory until the real store has opened (opening-store.ts).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyedStateBackendOptions } from '../keyed-state-backend.ts';
import { EmbeddedKeyedStateBackend, type EmbeddedKeyedStateBackendOptions } from './embedded-keyed-state-backend.ts';
import type { EmbeddedStore } from './embedded-store.ts';
import { openLmdbStoreSync } from './lmdb-store.ts';
import { OpeningStore } from './opening-store.ts';
import { openRocksDbStore } from './rocksdb-store.ts';

export type EmbeddedStoreKind = 'lmdb' | 'rocksdb';

export function createEmbeddedKeyedStateBackend(kind: EmbeddedStoreKind, options: KeyedStateBackendOptions & Pick<EmbeddedKeyedStateBackendOptions, 'snapshotThread'>): EmbeddedKeyedStateBackend {
  const base = options.localDir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const workDir = mkdtempSync(join(base, `tsflink-${kind}-${safeName(options.scope ?? options.owner ?? 'backend')}-`));
  const storeDir = join(workDir, 'db');
  let store: EmbeddedStore;
  try {
    store = kind === 'lmdb' ? openLmdbStoreSync(storeDir) : new OpeningStore(kind, storeDir, openRocksDbStore(storeDir));
  } catch (err) {
    void rm(workDir, { recursive: true, force: true });
    throw err;
  }
  return new EmbeddedKeyedStateBackend({
    ...options,
    store,
    ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
    afterDispose: () => rm(workDir, { recursive: true, force: true }),
  });
}

/** A directory-name-safe, bounded form of `text`. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}
