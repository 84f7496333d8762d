/**
 * The chain rewrite thread's side (chain-rewrite-thread.ts): a key group's full block, for every
 * state, from its base chain's blocks (read from the checkpoint root and checked as a restore
 * checks them) with the changes since the base laid over them, in store order (the canonical
 * keys' byte order, as a store's range read gives them), encoded as the processing thread would.
 * Values stay as the blocks and the store hold them: the writer writes such bytes as they are, or
 * packs them again exactly as it did before.
 */
import { parentPort } from 'node:worker_threads';
import { InternalError } from '../../errors.ts';
import { readFrames } from '../../format/block-reader.ts';
import { readArrayHeader, valueBounds } from '../../format/msgpack-scan.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { encodeDeltaFrames, encodeKeyGroupFrames } from '../state/embedded/key-group-frames.ts';
import { type PackedOverlay, unpackOverlay } from '../state/embedded/overlay-transfer.ts';
import type { FrameRef } from '../state/embedded/lmdb-snapshot-protocol.ts';
import type { FromRewriteThread, RecordedGroupFrames, RewriteBlock, ToRewriteThread } from './chain-rewrite-protocol.ts';
import { lowerThisThreadPriority } from '../runtime/background-thread-priority.ts';

const port = parentPort;
if (port === null) throw new InternalError('chain-rewrite-thread-main.ts runs only as a worker thread');
// Background work: the processing thread comes first when they share a core (background-thread-priority.ts).
lowerThisThreadPriority();

function send(message: FromRewriteThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

port.on('message', (message: ToRewriteThread) => {
  const done = message.type === 'rewrite' ? rewrite(message) : fromRecord(message);
  void done.catch((err: unknown) => send({ type: 'failed', request: message.request, message: err instanceof Error ? err.message : String(err) }));
});
send({ type: 'ready' });

async function rewrite(message: Extract<ToRewriteThread, { type: 'rewrite' }>): Promise<void> {
  const store = new LocalObjectStore(message.root);
  const keys: string[][] = [];
  const values: Uint8Array[][] = [];
  let entries = 0;
  for (const state of message.states) {
    const content = await replay(store, state.chain, unpackOverlay(state.changes));
    const sorted = [...content.keys()].sort();
    keys.push(sorted);
    values.push(sorted.map((k) => content.get(k)!));
    entries += sorted.length;
  }
  const { states, bytes, frameLimit } = await encodeKeyGroupFrames(message.states, message.keyGroup, message.maxParallelism, keys, values, message.frameLimit);
  send({ type: 'frames', request: message.request, states, bytes, entries, frameLimit }, [bytes.buffer as ArrayBuffer]);
}

/**
 * A record's changes, indexed: per key group, store key -> the index of its last change in
 * `changes` (a later one of a key wins), and where each change's value starts in its bytes (-1:
 * deleted). Indexes rather than a value view per change: the changes are every key written since
 * the base, hundreds of thousands while a job loads its keys, and a view and a pair per change
 * were most of this thread's garbage.
 */
interface IndexedChanges {
  readonly changes: PackedOverlay;
  readonly starts: Int32Array;
  readonly byGroup: Map<number, Map<string, number>>;
}

function indexChanges(changes: PackedOverlay): IndexedChanges {
  const { keys, lengths } = changes;
  const starts = new Int32Array(keys.length);
  const byGroup = new Map<number, Map<string, number>>();
  let at = 0;
  let lastGroup = -1;
  let map: Map<string, number> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const length = lengths[i]!;
    if (length < 0) starts[i] = -1;
    else {
      starts[i] = at;
      at += length;
    }
    const key = keys[i]!;
    const group = (key.charCodeAt(0) << 8) | key.charCodeAt(1);
    if (group !== lastGroup) {
      map = byGroup.get(group);
      if (map === undefined) byGroup.set(group, (map = new Map()));
      lastGroup = group;
    }
    map!.set(key, i);
  }
  return { changes, starts, byGroup };
}

/**
 * The key groups of a `record` message, in its order, each as the processing thread's writer
 * writes it from the backend's changes (takeKeyGroupChanges): per state, the changed keys in
 * store order, each upserted with its stored value or deleted; then a delta, or the base chains
 * replayed with them over them. A group that fails (a damaged base file) is reported failed, and
 * the frame limit goes on from the one before it.
 */
async function fromRecord(message: Extract<ToRewriteThread, { type: 'record' }>): Promise<void> {
  const record = indexChanges(message.changes);
  const store = new LocalObjectStore(message.root);
  const out: RecordedGroupFrames[] = [];
  const chunks: Uint8Array[] = [];
  let at = 0;
  let frameLimit = message.frameLimit;
  const moved = (refs: readonly FrameRef[], by: number): FrameRef[] => refs.map(([count, start, length]) => [count, start + by, length]);
  for (const group of message.groups) {
    try {
      const { keys, values, deletions } = changesOf(record, group.keyGroup, message.states.length);
      if (!group.full) {
        const delta = await encodeDeltaFrames(message.states, group.keyGroup, message.maxParallelism, keys, values, deletions, frameLimit);
        out.push({ keyGroup: group.keyGroup, full: false, states: delta.states.map((s) => ({ upserts: moved(s.upserts, at), deletions: moved(s.deletions, at) })), frameLimit: delta.frameLimit });
        chunks.push(delta.bytes);
        at += delta.bytes.length;
        frameLimit = delta.frameLimit;
        continue;
      }
      const fullKeys: string[][] = [];
      const fullValues: Uint8Array[][] = [];
      let entries = 0;
      for (let i = 0; i < message.states.length; i++) {
        const content = await replay(store, group.chains[i] ?? [], []);
        const upserted = keys[i]!;
        for (let j = 0; j < upserted.length; j++) content.set(upserted[j]!, values[i]![j]!);
        for (const k of deletions[i]!) content.delete(k);
        const sorted = [...content.keys()].sort();
        fullKeys.push(sorted);
        fullValues.push(sorted.map((k) => content.get(k)!));
        entries += sorted.length;
      }
      const full = await encodeKeyGroupFrames(message.states, group.keyGroup, message.maxParallelism, fullKeys, fullValues, frameLimit);
      out.push({ keyGroup: group.keyGroup, full: true, states: full.states.map((s) => moved(s, at)), entries, frameLimit: full.frameLimit });
      chunks.push(full.bytes);
      at += full.bytes.length;
      frameLimit = full.frameLimit;
    } catch (err) {
      out.push({ keyGroup: group.keyGroup, failed: err instanceof Error ? err.message : String(err) });
    }
  }
  const bytes = new Uint8Array(at);
  let to = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, to);
    to += chunk.length;
  }
  send({ type: 'recorded', request: message.request, groups: out, bytes }, [bytes.buffer as ArrayBuffer]);
}

/** A key group's changes per state: upserted keys in store order with their stored values, and deleted keys. */
function changesOf(record: IndexedChanges, keyGroup: number, count: number): { keys: string[][]; values: Uint8Array[][]; deletions: string[][] } {
  const keys: string[][] = Array.from({ length: count }, () => []);
  const values: Uint8Array[][] = Array.from({ length: count }, () => []);
  const deletions: string[][] = Array.from({ length: count }, () => []);
  const changes = record.byGroup.get(keyGroup);
  if (changes === undefined) return { keys, values, deletions };
  const { bytes, lengths } = record.changes;
  // Store keys sort as the canonical keys in them do within one state (canonical keys are self-delimiting).
  for (const storeKey of [...changes.keys()].sort()) {
    const id = (storeKey.charCodeAt(storeKey.length - 2) << 8) | storeKey.charCodeAt(storeKey.length - 1);
    if (id >= count) throw new InternalError(`a recorded change of state id ${id}, past the ${count} states`);
    const key = storeKey.slice(2, -2);
    const i = changes.get(storeKey)!;
    const start = record.starts[i]!;
    if (start < 0) deletions[id]!.push(key);
    else {
      keys[id]!.push(key);
      values[id]!.push(bytes.subarray(start, start + lengths[i]!));
    }
  }
  return { keys, values, deletions };
}

/** Key string -> stored value bytes after the chain's steps and then the changes. */
async function replay(store: LocalObjectStore, chain: readonly RewriteBlock[], changes: Iterable<readonly [string, Uint8Array | null]>): Promise<Map<string, Uint8Array>> {
  const content = new Map<string, Uint8Array>();
  for (const block of chain) {
    for await (const frame of readFrames(store, block.path, { file: 0, offset: block.offset, length: block.length, entries: block.entries, crc: block.crc })) {
      const { payload, count } = frame;
      const keysHeader = readArrayHeader(payload, 0);
      if (keysHeader.count !== count) throw new InternalError(`${store.describe(block.path)}: a frame of ${count} items whose keys array holds ${keysHeader.count}`);
      const keyBounds = valueBounds(payload, keysHeader.next, count);
      if (block.kind === 'deletions') {
        for (let i = 0; i < count; i++) content.delete(payload.toString('latin1', keyBounds[i]!, keyBounds[i + 1]!));
        continue;
      }
      const valuesHeader = readArrayHeader(payload, keyBounds[count]!);
      if (valuesHeader.count !== count) throw new InternalError(`${store.describe(block.path)}: a frame of ${count} items whose values array holds ${valuesHeader.count}`);
      const valueBoundsOf = valueBounds(payload, valuesHeader.next, count);
      for (let i = 0; i < count; i++) content.set(payload.toString('latin1', keyBounds[i]!, keyBounds[i + 1]!), payload.subarray(valueBoundsOf[i]!, valueBoundsOf[i + 1]!));
    }
  }
  for (const [key, value] of changes) {
    if (value === null) content.delete(key);
    else content.set(key, value);
  }
  return content;
}
