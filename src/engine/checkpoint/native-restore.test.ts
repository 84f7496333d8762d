import { describe, expect, it } from 'vitest';
import type { OperatorMeta, SnapshotMetadata } from '../../format/model.ts';
import { backendsOf, nativeBackendMismatch } from './native-restore.ts';

const keyed = { name: 'v', kind: 'value', schemaVersion: 1, ttl: null, entries: 0, bytes: 0, blocks: [] } as const;
const op = (uid: string, stateBackend: string | undefined, hasKeyed = true): OperatorMeta => ({
  uid,
  id: new Uint8Array(16),
  name: uid,
  parallelism: 1,
  maxParallelism: 128,
  ...(stateBackend === undefined ? {} : { stateBackend }),
  keyedStates: hasKeyed ? [keyed] : [],
  operatorStates: [],
});
const meta = (type: 'canonical' | 'native', operators: OperatorMeta[], kind: 'savepoint' | 'checkpoint' = 'savepoint'): Pick<SnapshotMetadata, 'kind' | 'type' | 'operators'> => ({ kind, type, operators });

describe('a native savepoint restores only on the backend that wrote it', () => {
  it('names the backends of keyed operators; absent on a keyed operator is hashmap (FORMAT.md 3.5); operators without keyed state do not count', () => {
    expect(backendsOf({ operators: [op('a', 'rocksdb'), op('b', undefined), op('source', undefined, false)] })).toEqual(['hashmap', 'rocksdb']);
  });

  it('refuses another backend in one line naming both and the way out', () => {
    expect(nativeBackendMismatch(meta('native', [op('count', 'rocksdb')]), 'lmdb', '/sp')).toBe(
      'Cannot restore the job from /sp: it is a native savepoint written by the rocksdb state backend, and this job uses lmdb (state.backend.type); a native savepoint restores only on the backend that wrote it. Take a canonical savepoint (flink savepoint --type canonical <jobId>) to change backends, or run with -D state.backend.type=rocksdb.',
    );
    expect(nativeBackendMismatch(meta('native', [op('count', undefined)]), 'rocksdb', '/sp')).toMatch(/written by the hashmap state backend, and this job uses rocksdb/);
  });

  it('lets the same backend, a canonical savepoint, a checkpoint and a savepoint without keyed state through', () => {
    expect(nativeBackendMismatch(meta('native', [op('count', 'lmdb')]), 'lmdb', '/sp')).toBeUndefined();
    expect(nativeBackendMismatch(meta('canonical', [op('count', 'rocksdb')]), 'lmdb', '/sp')).toBeUndefined();
    expect(nativeBackendMismatch(meta('native', [op('count', 'rocksdb')], 'checkpoint'), 'lmdb', '/sp')).toBeUndefined();
    expect(nativeBackendMismatch(meta('native', [op('source', undefined, false)]), 'lmdb', '/sp')).toBeUndefined();
  });
});
