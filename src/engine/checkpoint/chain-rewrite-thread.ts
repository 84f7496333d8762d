/**
 * The chain rewrite thread: one worker thread per processing thread (started by the first
 * incremental checkpoint that could use it), which writes a key group's full block of an
 * incremental checkpoint from the checkpoint's own files instead of the processing thread reading
 * the group whole from its store: the base chain's blocks replayed, with the changes since the
 * base (the delta the checkpoint would otherwise write) laid over them, give the group's content
 * as of the snapshot. It serves the rewrites that keep chains bounded (the stagger and early
 * rewrites of chain-policy.ts, and, where the backend recorded the changes, those the delta
 * ratio or the chain length forces, and a first checkpoint's groups over empty chains), on a backend that reads its store on the processing thread
 * (rocksdb, or lmdb without its snapshot thread), for value-like states without TTL, when the
 * checkpoint storage is on local disk.
 *
 * Why: issue 13 measured rocksdb with incremental checkpoints at 1M keys, 1% of them changing per
 * second, with and without those rewrites. Without them the processing thread spent about what it
 * spends with checkpointing off; with them, about a quarter more over the run, most of it the
 * binding's iterator reading the key groups rewritten whole (`_nextvSync`).
 *
 * A checkpoint that finds the thread starting waits for it (`ready`, some 150 ms, once per
 * process): the first incremental checkpoint of a job is the one that started it, and it is the
 * largest (a backend that began empty hands out every entry as a change, EMPTY_BASE). Without the
 * wait it read the groups it reached before the thread was up whole from the store on the
 * processing thread: issue 13 counted 55 of 128 key groups at a 1M-key rocksdb job's first
 * checkpoint, 140 ms of the binding's iterator (`_nextvSync`). After the thread failed,
 * `available` is false and the group is read from the store as before; a rewrite that fails (a
 * damaged shared file, say) answers undefined, and the checkpoint reads the group from the store
 * after all.
 *
 * Where the backend recorded every change since the base as written (the write-back cache's
 * records of writes, KeyedStateSnapshot.recordedChanges), the writer hands them over once per
 * checkpoint (`record`), untouched, and the thread writes every key group from them, deltas as well
 * as full blocks: grouping, looking up, sorting and copying each changed entry on the processing
 * thread was most of what the checkpoints cost it while a job loaded its keys (issue 13).
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../../errors.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { RawFrame } from '../../format/data-file-writer.ts';
import type { EncodedKeyGroup } from '../state/keyed-state-backend.ts';
import type { FrameRef, PackedStateRef } from '../state/embedded/lmdb-snapshot-protocol.ts';
import { overlayTransferList, packChanges, packLayers } from '../state/embedded/overlay-transfer.ts';
import type { FromRewriteThread, RecordedGroupRequest, ToRewriteThread } from './chain-rewrite-protocol.ts';
import type { KeyGroupChain } from './keyed-chain.ts';

const ENTRY = new URL('../../../bin/tsflink-chain-rewrite.js', import.meta.url);

export interface ChainRewriteRequest {
  readonly keyGroup: number;
  readonly maxParallelism: number;
  readonly frameLimit: number;
  /** In state id order: every state of the backend. */
  readonly states: readonly (PackedStateRef & {
    readonly chain: KeyGroupChain;
    /** Changed since the base: keys and their stored values now, and the keys deleted. */
    readonly upserts: { readonly keys: readonly string[]; readonly packed: readonly Uint8Array[] };
    readonly deletions: readonly string[];
  })[];
}

/** What a checkpoint writer is given: rewrites under one checkpoint root. */
export interface ChainRewriter {
  /** Whether a rewrite may be asked for now (the thread is ready and has not failed). */
  readonly available: boolean;
  /** True once the thread has started (also if it failed since), false if it failed first. */
  readonly ready: Promise<boolean>;
  /**
   * Whether the files of every block of `chains` are at hand under the root, so a rewrite of
   * their key group is worth asking for: where one is not, the thread's read would fail after the
   * changes were taken and packed for it, and the group is read from the store anyway.
   */
  readsChains(chains: readonly KeyGroupChain[]): boolean;
  /** Every state's full block of the key group; undefined when the thread could not write it. */
  rewrite(request: ChainRewriteRequest): Promise<EncodedKeyGroup | undefined>;
  /**
   * Hands the thread a snapshot's changes since its base in every key group
   * (KeyedStateSnapshot.recordedChanges), once, with the key groups to write from them, in the
   * order the writer writes them (starting from its frame limit `frameLimit`): each group's delta,
   * or (`full`) its full blocks from its base chains with the changes over them. Undefined when the
   * thread is not available or failed; a group it could not write is not in the map.
   */
  record(
    changes: readonly ReadonlyMap<string, Uint8Array | null>[],
    states: readonly PackedStateRef[],
    maxParallelism: number,
    groups: readonly { readonly keyGroup: number; readonly full: boolean; readonly chains: readonly KeyGroupChain[] }[],
    frameLimit: number,
  ): Promise<ReadonlyMap<number, RecordedGroup> | undefined>;
  /** Key groups written whole by the thread so far, for tests and benches. */
  readonly rewritten: number;
}

/** A key group written by the thread from recorded changes (`ChainRewriter.record`): its delta's blocks per state, or its full blocks. */
export type RecordedGroup =
  | { readonly full: false; readonly states: readonly { readonly upserts: readonly RawFrame[]; readonly deletions: readonly RawFrame[] }[]; readonly frameLimit: number }
  | { readonly full: true; readonly encoded: EncodedKeyGroup };

class ChainRewriteThread {
  readonly #worker: Worker;
  #ready = false;
  #failed = false;
  #onReady: ((ready: boolean) => void) | undefined;
  /** True once the thread has started, false if it failed first. */
  readonly whenReady = new Promise<boolean>((resolve) => (this.#onReady = resolve));
  #nextId = 1;
  readonly #requests = new Map<number, (m: FromRewriteThread | undefined) => void>();
  /**
   * Key groups written by the thread in this process, and those of them that replayed base blocks
   * from files (not only changes over empty chains): a job shows no figure of the thread, and
   * tests of jobs run in the test's process read these.
   */
  readonly written = { groups: 0, fromFiles: 0, deltas: 0 };

  constructor() {
    this.#worker = new Worker(ENTRY);
    this.#worker.unref();
    this.#worker.on('message', (m: FromRewriteThread) => this.#receive(m));
    this.#worker.on('error', () => this.#fail());
    this.#worker.on('exit', () => this.#fail());
  }

  get available(): boolean {
    return this.#ready && !this.#failed;
  }

  async rewrite(root: string, request: ChainRewriteRequest): Promise<EncodedKeyGroup | undefined> {
    if (!this.available) return undefined;
    const transfer: ArrayBuffer[] = [];
    const states = request.states.map(({ label, kind, chain, upserts, deletions }) => {
      const changes = packChanges(upserts.keys, upserts.packed, deletions);
      transfer.push(...overlayTransferList(changes));
      return { label, kind, chain: chain.map(({ path, offset, length, entries, crc, kind: blockKind }) => ({ path, offset, length, entries, crc, kind: blockKind })), changes };
    });
    const id = this.#nextId++;
    const message: ToRewriteThread = { type: 'rewrite', request: id, root, keyGroup: request.keyGroup, maxParallelism: request.maxParallelism, frameLimit: request.frameLimit, states };
    if (this.#requests.size === 0) this.#worker.ref();
    const reply = new Promise<FromRewriteThread | undefined>((resolve) => this.#requests.set(id, resolve));
    this.#worker.postMessage(message, transfer);
    const answer = await reply;
    if (answer === undefined || answer.type !== 'frames') return undefined;
    this.written.groups += 1;
    if (request.states.some((state) => state.chain.length > 0)) this.written.fromFiles += 1;
    const bytes = answer.bytes;
    return {
      states: answer.states.map((frames) => frames.map(([count, start, length]) => ({ count, payload: bytes.subarray(start, start + length) }))),
      entries: answer.entries,
      frameLimit: answer.frameLimit,
    };
  }

  /** ChainRewriter.record's request, under checkpoint root `root`. */
  async record(root: string, changes: readonly ReadonlyMap<string, Uint8Array | null>[], states: readonly PackedStateRef[], maxParallelism: number, groups: readonly RecordedGroupRequest[], frameLimit: number): Promise<Map<number, RecordedGroup> | undefined> {
    if (!this.available) return undefined;
    const packed = packLayers(changes);
    const id = this.#nextId++;
    if (this.#requests.size === 0) this.#worker.ref();
    const reply = new Promise<FromRewriteThread | undefined>((resolve) => this.#requests.set(id, resolve));
    this.#worker.postMessage({ type: 'record', request: id, root, maxParallelism, states, changes: packed, groups, frameLimit } satisfies ToRewriteThread, overlayTransferList(packed));
    const answer = await reply;
    if (answer === undefined || answer.type !== 'recorded') return undefined;
    const bytes = answer.bytes;
    const frames = (refs: readonly FrameRef[]): RawFrame[] => refs.map(([count, start, length]) => ({ count, payload: bytes.subarray(start, start + length) }));
    const out = new Map<number, RecordedGroup>();
    for (const group of answer.groups) {
      if ('failed' in group) continue;
      if (!group.full) {
        this.written.deltas += 1;
        out.set(group.keyGroup, { full: false, states: group.states.map((s) => ({ upserts: frames(s.upserts), deletions: frames(s.deletions) })), frameLimit: group.frameLimit });
        continue;
      }
      this.written.groups += 1;
      if (groups.some((g) => g.keyGroup === group.keyGroup && g.chains.some((chain) => chain.length > 0))) this.written.fromFiles += 1;
      out.set(group.keyGroup, { full: true, encoded: { states: group.states.map(frames), entries: group.entries, frameLimit: group.frameLimit } });
    }
    return out;
  }

  #receive(message: FromRewriteThread): void {
    if (message.type === 'ready') {
      // Again: an unref() before the thread is up does not hold (a process that never asked for a rewrite did not exit).
      if (this.#requests.size === 0) this.#worker.unref();
      this.#ready = true;
      this.#onReady?.(true);
      return;
    }
    const waiting = this.#requests.get(message.request);
    this.#requests.delete(message.request);
    if (this.#requests.size === 0) this.#worker.unref();
    waiting?.(message);
  }

  #fail(): void {
    if (this.#failed) return;
    // Not started again: a thread that cannot start would otherwise be started at every checkpoint.
    this.#failed = true;
    this.#onReady?.(false);
    for (const resolve of this.#requests.values()) resolve(undefined);
    this.#requests.clear();
  }
}

let shared: ChainRewriteThread | undefined;

/** This processing thread's chain rewrite thread, started on first use. */
export function chainRewriteThread(): ChainRewriteThread {
  shared ??= new ChainRewriteThread();
  return shared;
}

/**
 * A rewriter for the checkpoint root `root` (a local directory), on this processing thread's
 * rewrite thread. Made per checkpoint (write-subtask-snapshot.ts): which files are at hand is
 * looked up once per file and checkpoint. Where the root holds local recovery's copies (the
 * checkpoint storage on S3), a file with no copy there is one this subtask did not write and
 * never fetched (another subtask's, after a rescale; a restored checkpoint's), and a copy that is
 * there stays while the checkpoint builds on it (LocalSharedCopies.building).
 */
export function chainRewriter(root: string): ChainRewriter {
  if (!root.startsWith('/')) throw new InternalError(`chain rewrites read a local checkpoint root, got '${root}'`);
  const thread = chainRewriteThread();
  const files = new LocalObjectStore(root);
  const atHand = new Map<string, boolean>();
  let rewritten = 0;
  return {
    get available() {
      return thread.available;
    },
    ready: thread.whenReady,
    readsChains(chains) {
      for (const chain of chains) {
        for (const { path } of chain) {
          let present = atHand.get(path);
          if (present === undefined) atHand.set(path, (present = existsSync(files.describe(path))));
          if (!present) return false;
        }
      }
      return true;
    },
    async rewrite(request) {
      const encoded = await thread.rewrite(root, request);
      if (encoded !== undefined) rewritten += 1;
      return encoded;
    },
    get rewritten() {
      return rewritten;
    },
    async record(changes, states, maxParallelism, groups, frameLimit) {
      const requests = groups.map(({ keyGroup, full, chains }) => ({
        keyGroup,
        full,
        chains: full ? chains.map((chain) => chain.map(({ path, offset, length, entries, crc, kind }) => ({ path, offset, length, entries, crc, kind }))) : [],
      }));
      const written = await thread.record(
        root,
        changes,
        states.map(({ label, kind }) => ({ label, kind })),
        maxParallelism,
        requests,
        frameLimit,
      );
      for (const group of written?.values() ?? []) if (group.full) rewritten += 1;
      return written;
    },
  };
}
