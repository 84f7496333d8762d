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
import { encodeKeyGroupFrames } from '../state/embedded/key-group-frames.ts';
import { unpackOverlay } from '../state/embedded/overlay-transfer.ts';
import type { FromRewriteThread, RewriteState, ToRewriteThread } from './chain-rewrite-protocol.ts';

const port = parentPort;
if (port === null) throw new InternalError('chain-rewrite-thread-main.ts runs only as a worker thread');

function send(message: FromRewriteThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

port.on('message', (message: ToRewriteThread) => {
  void rewrite(message).catch((err: unknown) => send({ type: 'failed', request: message.request, message: err instanceof Error ? err.message : String(err) }));
});
send({ type: 'ready' });

async function rewrite(message: ToRewriteThread): Promise<void> {
  const store = new LocalObjectStore(message.root);
  const keys: string[][] = [];
  const values: Uint8Array[][] = [];
  let entries = 0;
  for (const state of message.states) {
    const content = await replay(store, state);
    const sorted = [...content.keys()].sort();
    keys.push(sorted);
    values.push(sorted.map((k) => content.get(k)!));
    entries += sorted.length;
  }
  const { states, bytes, frameLimit } = await encodeKeyGroupFrames(message.states, message.keyGroup, message.maxParallelism, keys, values, message.frameLimit);
  send({ type: 'frames', request: message.request, states, bytes, entries, frameLimit }, [bytes.buffer as ArrayBuffer]);
}

/** Key string -> stored value bytes after the chain's steps and then the changes. */
async function replay(store: LocalObjectStore, state: RewriteState): Promise<Map<string, Uint8Array>> {
  const content = new Map<string, Uint8Array>();
  for (const block of state.chain) {
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
  for (const [key, value] of unpackOverlay(state.changes)) {
    if (value === null) content.delete(key);
    else content.set(key, value);
  }
  return content;
}
