/**
 * The snapshot thread's side (lmdb-snapshot-thread.ts): opens the environments of the lmdb stores
 * of its processing thread, begins a read transaction for a store snapshot when asked, and reads
 * and encodes whole key groups from it, so the range read, the assembly of keys and the encoding
 * (what a key group rewritten whole cost the processing thread, with the garbage it left) happen
 * here. One request at a time: a key group is read and encoded in one go.
 */
import { parentPort } from 'node:worker_threads';
import { type Database, type Key, type Transaction, open } from 'lmdb';
import { InternalError, UserError } from '../../../errors.ts';
import { encodeKeyGroupFrames } from './key-group-frames.ts';
import type { FromSnapshotThread, ToSnapshotThread } from './lmdb-snapshot-protocol.ts';
import { lmdbOptions } from './lmdb-store.ts';
import { latin1Between } from './memory-store.ts';
import { mergeOverlay } from './merge-overlay.ts';
import { unpackOverlay } from './overlay-transfer.ts';
import { canonicalKeyEnd, keyGroupRange } from './state-keys.ts';
import { lowerThisThreadPriority } from '../../runtime/background-thread-priority.ts';

type BinaryDatabase = Database<Uint8Array, Key>;

const port = parentPort;
if (port === null) throw new InternalError('lmdb-snapshot-thread-main.ts runs only as a worker thread');
// Background work: the processing thread comes first when they share a core (background-thread-priority.ts).
lowerThisThreadPriority();

const stores = new Map<number, { readonly db: BinaryDatabase; readonly generation: Int32Array }>();
const reads = new Map<number, { readonly db: BinaryDatabase; readonly txn: Transaction }>();

function send(message: FromSnapshotThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

port.on('message', (message: ToSnapshotThread) => {
  void handle(message).catch((err: unknown) => {
    if ('request' in message) send({ type: 'failed', request: message.request, message: err instanceof Error ? err.message : String(err), user: err instanceof UserError });
    else throw err;
  });
});
send({ type: 'ready' });

async function handle(message: ToSnapshotThread): Promise<void> {
  switch (message.type) {
    case 'open':
      stores.set(message.store, { db: open<Uint8Array, Key>(lmdbOptions(message.directory)), generation: message.generation });
      return;
    case 'close': {
      const store = stores.get(message.store);
      stores.delete(message.store);
      for (const [id, read] of reads) {
        if (read.db !== store?.db) continue;
        read.txn.done();
        reads.delete(id);
      }
      await store?.db.close();
      send({ type: 'closed', request: message.request });
      return;
    }
    case 'begin':
      return begin(message.store, message.read, message.generation);
    case 'release':
      reads.get(message.read)?.txn.done();
      reads.delete(message.read);
      return;
    case 'keyGroup':
      return readKeyGroup(message);
  }
}

/**
 * A read transaction begun now sees what the processing thread's snapshot saw if the store was not
 * written in between: the processing thread counts a write before making it, so an unchanged
 * count read after the transaction began means every later write comes after it too.
 */
function begin(storeId: number, read: number, generation: number): void {
  const store = stores.get(storeId);
  if (store === undefined) return send({ type: 'begun', read, ok: false });
  // lmdb-js hands a thread's current read transaction out again while it is in use: reset it
  // first, so this one begins now and not at an earlier read's moment.
  store.db.resetReadTxn();
  const txn = store.db.useReadTransaction();
  // The renewal may wait for the first read: make it happen before the count is compared.
  (store.db.getBinary as unknown as (key: Key, options: { transaction: Transaction }) => unknown).call(store.db, Uint8Array.of(0), { transaction: txn });
  if (Atomics.load(store.generation, 0) !== generation) {
    txn.done();
    return send({ type: 'begun', read, ok: false });
  }
  reads.set(read, { db: store.db, txn });
  send({ type: 'begun', read, ok: true });
}

async function readKeyGroup(message: Extract<ToSnapshotThread, { type: 'keyGroup' }>): Promise<void> {
  const read = reads.get(message.read);
  if (read === undefined) throw new InternalError(`snapshot thread: read ${message.read} is not open`);
  const { start, end } = keyGroupRange(message.keyGroup);
  const states = message.states;
  const keys: string[][] = states.map(() => []);
  const values: Uint8Array[][] = states.map(() => []);
  let entries = 0;
  const range = read.db.getRange({ start, end, transaction: read.txn });
  for (const [storeKey, value] of mergeOverlay(
    (function* () {
      for (const { key, value } of range) yield [key as Uint8Array, value] as const;
    })(),
    unpackOverlay(message.overlay),
  )) {
    entries += 1;
    const keyEnd = canonicalKeyEnd(storeKey, 2);
    const id = (storeKey[keyEnd]! << 8) | storeKey[keyEnd + 1]!;
    if (id >= states.length) throw new InternalError(`keyed snapshot: a store entry of state id ${id}, which is not registered`);
    if (keyEnd + 2 !== storeKey.length) throw new InternalError(`keyed snapshot: state '${states[id]!.label}' has an entry below a key, which a ${states[id]!.kind} state never writes`);
    keys[id]!.push(latin1Between(storeKey, 2, keyEnd));
    values[id]!.push(value);
  }
  const { states: refs, bytes, frameLimit } = await encodeKeyGroupFrames(states, message.keyGroup, message.maxParallelism, keys, values, message.frameLimit);
  send({ type: 'frames', request: message.request, states: refs, bytes, entries, frameLimit }, [bytes.buffer as ArrayBuffer]);
}
