/**
 * The state handles of a Flink `_metadata`: each starts with a one-byte tag (numbers of
 * MetadataV2V3SerializerBase). A tag this reader does not know is refused with its value and
 * offset: skipping it is impossible anyway, since nothing says how long the handle is.
 */
import type { JavaDataReader } from './byte-reader.ts';
import {
  type ChannelHandle,
  DISTRIBUTION_MODES,
  type KeyGroupRange,
  type KeyedHandle,
  type NamedStreamHandle,
  type OperatorHandle,
  type OperatorStateEntry,
  type StreamHandle,
} from './model.ts';

export const TAGS = {
  null: 0,
  byteStream: 1,
  fileStream: 2,
  keyGroups: 3,
  partitionableOperator: 4,
  incremental: 5,
  relativeStream: 6,
  savepointKeyGroups: 7,
  changelog: 8,
  changelogBytes: 9,
  changelogFile: 10,
  incrementalV2: 11,
  keyGroupsV2: 12,
  changelogFileV2: 13,
  changelogV2: 14,
  segmentFile: 15,
  emptySegmentFile: 16,
  segmentOperator: 17,
} as const;

function unknownTag(r: JavaDataReader, what: string, tag: number, at: number): never {
  return r.fail(`unknown ${what} tag ${tag} (this reader knows the tags of Flink 1.3 to 2.1; a newer Flink may have written it)`, at, 'unsupported');
}

/** A key-group range as start and count (KeyGroupRange.of(start, start + num - 1)). */
function range(r: JavaDataReader, what: string): KeyGroupRange {
  const start = r.i32(`the first key group of ${what}`);
  const count = r.count(`key-group count of ${what}`);
  return { start, end: start + count - 1 };
}

function keyGroupOffsets(r: JavaDataReader, what: string): KeyGroupRange {
  const kg = range(r, what);
  r.take((kg.end - kg.start + 1) * 8, `the key-group offsets of ${what}`);
  return kg;
}

export function sizeOf(handle: { readonly size: number } | null): number {
  return handle === null ? 0 : handle.size;
}

export function readStreamHandle(r: JavaDataReader): StreamHandle | null {
  const at = r.offset;
  const tag = r.u8('a stream state handle tag');
  switch (tag) {
    case TAGS.null:
      return null;
    case TAGS.byteStream: {
      const name = r.utf('the name of an inline state handle');
      const size = r.count('length of inline state');
      r.take(size, 'inline state bytes');
      return { tag, at, kind: 'inline', name, size };
    }
    case TAGS.fileStream: {
      // size before path here, path before size in tag 6: as Flink writes them.
      const size = r.i64('the size of a file state handle');
      return { tag, at, kind: 'file', size, path: r.utf('the path of a file state handle') };
    }
    case TAGS.relativeStream: {
      const path = r.utf('the relative path of a state file');
      return { tag, at, kind: 'relative', path, size: r.i64('the size of a relative state file') };
    }
    case TAGS.keyGroups: {
      const kg = keyGroupOffsets(r, 'a key-groups handle');
      const delegate = readStreamHandle(r);
      return { tag, at, kind: 'key-groups', range: kg, size: sizeOf(delegate), delegate };
    }
    case TAGS.segmentFile: {
      const startPos = r.i64('the start of a file segment');
      const size = r.i64('the size of a file segment');
      const scopeAt = r.offset;
      const scope = r.i32('the scope of a file segment');
      if (scope !== 0 && scope !== 1) r.fail(`unknown file segment scope ${scope}`, scopeAt, 'unsupported');
      const path = r.utf('the physical file of a file segment');
      const logicalFileId = r.utf('the logical file id of a file segment');
      return { tag, at, kind: 'segment', startPos, size, scope: scope === 0 ? 'exclusive' : 'shared', path, logicalFileId };
    }
    case TAGS.emptySegmentFile:
      return { tag, at, kind: 'empty-segment', size: 0 };
    default:
      return unknownTag(r, 'stream state handle', tag, at);
  }
}

function namedHandles(r: JavaDataReader, what: string): NamedStreamHandle[] {
  const n = r.count(`number of ${what}`);
  const out: NamedStreamHandle[] = [];
  for (let i = 0; i < n; i++) out.push({ name: r.utf(`the name of one of the ${what}`), handle: readStreamHandle(r) });
  return out;
}

const total = (handles: readonly NamedStreamHandle[]): number => handles.reduce((n, h) => n + sizeOf(h.handle), 0);

/**
 * Flink nests keyed handles only inside a changelog handle, one level deep (its materialized part
 * and its changes); a deeper nesting is damage, refused before it could exhaust the stack.
 */
const MAX_KEYED_NESTING = 4;

export function readKeyedHandle(r: JavaDataReader, depth = 0): KeyedHandle | null {
  const at = r.offset;
  if (depth > MAX_KEYED_NESTING) r.fail(`keyed state handles nested more than ${MAX_KEYED_NESTING} deep`);
  const tag = r.i8('a keyed state handle tag');
  switch (tag) {
    case TAGS.null:
      return null;
    case TAGS.keyGroups:
    case TAGS.keyGroupsV2:
    case TAGS.savepointKeyGroups: {
      const kg = keyGroupOffsets(r, 'a keyed state handle');
      const delegate = readStreamHandle(r);
      const kind = tag === TAGS.savepointKeyGroups ? 'savepoint-key-groups' : 'key-groups';
      const base = { tag, at, kind, range: kg, size: sizeOf(delegate), delegate } as const;
      return tag === TAGS.keyGroupsV2 ? { ...base, stateHandleId: r.utf('a state handle id') } : base;
    }
    case TAGS.incremental:
    case TAGS.incrementalV2: {
      const v2 = tag === TAGS.incrementalV2;
      const checkpointId = r.i64('the checkpoint id of an incremental handle');
      const backendId = r.utf('the backend id of an incremental handle');
      const kg = range(r, 'an incremental handle');
      const checkpointedSize = v2 ? r.i64('the checkpointed size of an incremental handle') : undefined;
      const metaState = readStreamHandle(r);
      const shared = namedHandles(r, 'shared state files');
      const priv = namedHandles(r, 'private state files');
      const stateHandleId = v2 ? r.utf('a state handle id') : undefined;
      // IncrementalRemoteKeyedStateHandle.getStateSize: meta + shared + private.
      const size = sizeOf(metaState) + total(shared) + total(priv);
      return {
        tag, at, kind: 'incremental', checkpointId, backendId, range: kg, size,
        ...(checkpointedSize === undefined ? {} : { checkpointedSize }),
        metaState, shared, private: priv,
        ...(stateHandleId === undefined ? {} : { stateHandleId }),
      };
    }
    case TAGS.changelog:
    case TAGS.changelogV2: {
      const kg = range(r, 'a changelog handle');
      const checkpointedSize = r.i64('the checkpointed size of a changelog handle');
      const materialized: KeyedHandle[] = [];
      for (let i = r.count('number of materialized handles'); i > 0; i--) {
        const h = readKeyedHandle(r, depth + 1);
        if (h !== null) materialized.push(h); // Flink drops (and logs) a null here too
      }
      const nonMaterialized: KeyedHandle[] = [];
      for (let i = r.count('number of non-materialized handles'); i > 0; i--) {
        const h = readKeyedHandle(r, depth + 1);
        if (h !== null) nonMaterialized.push(h);
      }
      const materializationId = r.i64('a materialization id');
      const checkpointId = tag === TAGS.changelogV2 ? r.i64('the checkpoint id of a changelog handle') : materializationId;
      const stateHandleId = r.utf('a state handle id');
      const size = [...materialized, ...nonMaterialized].reduce((n, h) => n + h.size, 0);
      return { tag, at, kind: 'changelog', range: kg, size, checkpointedSize, materialized, nonMaterialized, materializationId, checkpointId, stateHandleId };
    }
    case TAGS.changelogBytes: {
      const kg = range(r, 'an inline changelog handle');
      const from = r.i64('a sequence number');
      const to = r.i64('a sequence number');
      const changes = r.count('number of changelog changes');
      let size = 0;
      for (let i = 0; i < changes; i++) {
        r.i32('the key group of a change');
        const n = r.count('length of a change');
        r.take(n, 'a change');
        size += n;
      }
      return { tag, at, kind: 'changelog-inline', range: kg, size, from, to, changes, stateHandleId: r.utf('a state handle id') };
    }
    case TAGS.changelogFile:
    case TAGS.changelogFileV2: {
      const kg = range(r, 'a changelog file handle');
      const handles: { offset: number; handle: StreamHandle | null }[] = [];
      for (let i = r.count('number of changelog files'); i > 0; i--) {
        const offset = r.i64('an offset in a changelog file');
        handles.push({ offset, handle: readStreamHandle(r) });
      }
      const size = r.i64('the size of a changelog file handle');
      const checkpointedSize = r.i64('the checkpointed size of a changelog file handle');
      const stateHandleId = r.utf('a state handle id');
      const storageIdentifier = tag === TAGS.changelogFileV2 ? r.utf('a changelog storage identifier') : 'filesystem';
      return { tag, at, kind: 'changelog-file', range: kg, size, checkpointedSize, handles, stateHandleId, storageIdentifier };
    }
    default:
      return unknownTag(r, 'keyed state handle', tag, at);
  }
}

export function readOperatorHandle(r: JavaDataReader): OperatorHandle | null {
  const at = r.offset;
  const tag = r.i8('an operator state handle tag');
  if (tag === TAGS.null) return null;
  if (tag !== TAGS.partitionableOperator && tag !== TAGS.segmentOperator) unknownTag(r, 'operator state handle', tag, at);
  const states: OperatorStateEntry[] = [];
  for (let i = r.count('number of operator states'); i > 0; i--) {
    const name = r.utf('an operator state name');
    const modeAt = r.offset;
    const ordinal = r.i8('a distribution mode');
    const mode = DISTRIBUTION_MODES[ordinal];
    if (mode === undefined) r.fail(`unknown distribution mode ${ordinal} of operator state '${name}'`, modeAt, 'unsupported');
    const offsets = r.count(`number of offsets of operator state '${name}'`);
    r.take(offsets * 8, `the offsets of operator state '${name}'`);
    states.push({ name, mode, offsets });
  }
  if (tag === TAGS.partitionableOperator) {
    const delegate = readStreamHandle(r);
    return { tag, at, kind: 'operator-stream', states, size: sizeOf(delegate), delegate };
  }
  const taskOwnedDirectory = r.utf('a task-owned directory');
  const sharedDirectory = r.utf('a shared directory');
  r.u8('the empty flag of a file-merging handle');
  const delegateAt = r.offset;
  const delegate = readStreamHandle(r);
  // Flink checks `instanceof SegmentFileStateHandle`, which a null fails too.
  if (delegate === null || (delegate.kind !== 'segment' && delegate.kind !== 'empty-segment')) {
    r.fail(`a file-merging operator state handle needs a file segment, found ${delegate === null ? 'a null handle' : `a ${delegate.kind} handle (tag ${delegate.tag})`}`, delegateAt);
  }
  return { tag, at, kind: 'file-merging-operator-stream', states, size: sizeOf(delegate), delegate, taskOwnedDirectory, sharedDirectory };
}

/**
 * A channel-state handle. Versions 3 to 5 write the plain layout (ChannelStateHandleSerializerV1)
 * and the list says which kind it is; version 6 (ChannelStateHandleSerializerV2) prefixes a tag and
 * adds merged handles.
 */
export function readChannelHandle(r: JavaDataReader, input: boolean, tagged: boolean): ChannelHandle {
  const at = r.offset;
  let merged = false;
  if (tagged) {
    const tag = r.u8('a channel state handle tag');
    const plain = input ? 1 : 2;
    const mergedTag = input ? 3 : 4;
    if (tag !== plain && tag !== mergedTag) unknownTag(r, `${input ? 'input' : 'output'} channel state handle`, tag, at);
    merged = tag === mergedTag;
  }
  if (merged) {
    const subtask = r.i32('the subtask of a channel state handle');
    const size = r.i64('the size of a channel state handle');
    const delegate = readStreamHandle(r);
    r.take(r.count('length of merged channel offsets'), 'merged channel offsets');
    return { at, kind: input ? 'merged-input-channels' : 'merged-result-subpartitions', subtask, size, delegate };
  }
  const subtask = r.i32('the subtask of a channel state handle');
  const channel = [r.i32('a gate or partition index'), r.i32('a channel or subpartition index')] as const;
  r.take(r.count('number of channel state offsets') * 8, 'channel state offsets');
  const size = r.i64('the size of a channel state handle');
  const delegate = readStreamHandle(r);
  return { at, kind: input ? 'input-channel' : 'result-subpartition', subtask, channel, size, delegate };
}
