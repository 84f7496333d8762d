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
import { unpackOverlay } from '../state/embedded/overlay-transfer.ts';
import type { FrameRef } from '../state/embedded/lmdb-snapshot-protocol.ts';
import type { FromRewriteThread, RecordedGroupFrames, RewriteBlock, ToRewriteThread } from './chain-rewrite-protocol.ts';
import { type SortedEntries, changesOfGroup, deleteSorted, groupChanges, isAscending, upsertSorted } from './sorted-changes.ts';
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
    const upserts: SortedEntries = { keys: [], values: [] };
    const deletions: string[] = [];
    for (const [key, value] of unpackOverlay(state.changes)) {
      if (value === null) deletions.push(key);
      else {
        upserts.keys.push(key);
        upserts.values.push(value);
      }
    }
    const content = await fullContent(store, state.chain, upserts, deletions);
    keys.push(content.keys);
    values.push(content.values);
    entries += content.keys.length;
  }
  const { states, bytes, frameLimit } = await encodeKeyGroupFrames(message.states, message.keyGroup, message.maxParallelism, keys, values, message.frameLimit);
  send({ type: 'frames', request: message.request, states, bytes, entries, frameLimit }, [bytes.buffer as ArrayBuffer]);
}

/**
 * The key groups of a `record` message, in its order, each as the processing thread's writer
 * writes it from the backend's changes (takeKeyGroupChanges): per state, the changed keys in
 * store order, each upserted with its stored value or deleted; then a delta, or the base chains
 * replayed with them over them. A group that fails (a damaged base file) is reported failed, and
 * the frame limit goes on from the one before it.
 */
async function fromRecord(message: Extract<ToRewriteThread, { type: 'record' }>): Promise<void> {
  const record = groupChanges(message.changes);
  const store = new LocalObjectStore(message.root);
  const out: RecordedGroupFrames[] = [];
  const chunks: Uint8Array[] = [];
  let at = 0;
  let frameLimit = message.frameLimit;
  const moved = (refs: readonly FrameRef[], by: number): FrameRef[] => refs.map(([count, start, length]) => [count, start + by, length]);
  for (const group of message.groups) {
    try {
      const { keys, values, deletions } = changesOfGroup(record, group.keyGroup, message.states.length);
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
        const content = await fullContent(store, group.chains[i] ?? [], { keys: keys[i]!, values: values[i]! }, deletions[i]!);
        fullKeys.push(content.keys);
        fullValues.push(content.values);
        entries += content.keys.length;
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

/**
 * A full block's entries in store order: the chain's steps, then `upserts` and `deletions`, as
 * sorted merges where every step's keys ascend, else through a Map and a sort. Each block is read
 * once either way.
 */
async function fullContent(store: LocalObjectStore, chain: readonly RewriteBlock[], upserts: SortedEntries, deletions: string[]): Promise<SortedEntries> {
  const steps: { readonly deletes: boolean; readonly entries: SortedEntries }[] = [];
  for (const block of chain) steps.push({ deletes: block.kind === 'deletions', entries: await blockEntries(store, block) });
  if (isAscending(upserts.keys) && isAscending(deletions) && steps.every((step) => isAscending(step.entries.keys))) {
    let content: SortedEntries = { keys: [], values: [] };
    // A full block over something (never written so) upserts, as the Map below takes it.
    for (const { deletes, entries } of steps) content = deletes ? deleteSorted(content, entries.keys) : upsertSorted(content, entries);
    return deleteSorted(upsertSorted(content, upserts), deletions);
  }
  const content = new Map<string, Uint8Array>();
  for (const { deletes, entries } of [...steps, { deletes: false, entries: upserts }]) {
    if (deletes) for (const key of entries.keys) content.delete(key);
    else for (let i = 0; i < entries.keys.length; i++) content.set(entries.keys[i]!, entries.values[i]!);
  }
  for (const key of deletions) content.delete(key);
  const keys = [...content.keys()].sort();
  return { keys, values: keys.map((k) => content.get(k)!) };
}

/** A block's keys as strings, in the order written, and (but for a deletions block) their stored value bytes. */
async function blockEntries(store: LocalObjectStore, block: RewriteBlock): Promise<SortedEntries> {
  const keys: string[] = [];
  const values: Uint8Array[] = [];
  for await (const frame of readFrames(store, block.path, { file: 0, offset: block.offset, length: block.length, entries: block.entries, crc: block.crc })) {
    const { payload, count } = frame;
    const keysHeader = readArrayHeader(payload, 0);
    if (keysHeader.count !== count) throw new InternalError(`${store.describe(block.path)}: a frame of ${count} items whose keys array holds ${keysHeader.count}`);
    const keyBounds = valueBounds(payload, keysHeader.next, count);
    for (let i = 0; i < count; i++) keys.push(payload.toString('latin1', keyBounds[i]!, keyBounds[i + 1]!));
    if (block.kind === 'deletions') continue;
    const valuesHeader = readArrayHeader(payload, keyBounds[count]!);
    if (valuesHeader.count !== count) throw new InternalError(`${store.describe(block.path)}: a frame of ${count} items whose values array holds ${valuesHeader.count}`);
    const valueBoundsOf = valueBounds(payload, valuesHeader.next, count);
    for (let i = 0; i < count; i++) values.push(payload.subarray(valueBoundsOf[i]!, valueBoundsOf[i + 1]!));
  }
  return { keys, values };
}
