/**
 * The asynchronous half of a subtask's checkpoint: what the barrier captured (copy-on-write
 * snapshots, so processing goes on meanwhile) is written to one data file for the subtask, and the
 * coordinator gets the block references, or the reason it failed: a decline with Flink's
 * CHECKPOINT_ASYNC_EXCEPTION (`async-failure`), as its AsyncCheckpointRunnable declines.
 */
import { performance } from 'node:perf_hooks';
import { DataFileWriter, type WrittenFile } from '../../format/data-file-writer.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { operatorIdFromUid, toHex } from '../../format/murmur3.ts';
import { dataFilePath } from '../../format/snapshot-paths.ts';
import type { KeyedStateSnapshot } from '../state/keyed-state-backend.ts';
import { type OperatorStateSnapshot, writeOperatorSnapshot } from '../state/operator-state-store.ts';
import type { SnapshotTtlLayout } from '../state/ttl/ttl-states.ts';
import { writeKeyedSnapshot } from '../state/write-keyed-snapshot.ts';
import { LocalCopyTeeStore } from '../../storage/local-copy-tee.ts';
import { type ChainRewriter, chainRewriter } from '../checkpoint/chain-rewrite-thread.ts';
import { type LocalRecovery, localCheckpointDir } from '../checkpoint/local-recovery.ts';
import type { LocalSharedCopies } from '../checkpoint/local-shared-copies.ts';
import { faultPoint } from './fault-points.ts';
import type { CheckpointTarget, SharedTarget, SubtaskAck, SubtaskHooks } from './subtask.ts';
import { randomBytes } from 'node:crypto';
import type { KeyedBlock } from '../../format/snapshot-writer.ts';
import type { ChainBook } from '../checkpoint/chain-book.ts';
import { sharedFileMarker, sharedFileOwner } from '../checkpoint/shared-paths.ts';
import { type KeyGroupChain, referencedFiles } from '../checkpoint/keyed-chain.ts';
import type { OperatorStatePartition } from '../state/operator-state-store.ts';
import { completeChains, type IncrementalKeyedResult, writeIncrementalKeyedSnapshot } from '../state/write-incremental-keyed-snapshot.ts';
import type { KeyedStateBlocks } from '../state/write-keyed-snapshot.ts';

/** One operator's state as the barrier captured it. */
export interface CapturedOperator {
  readonly uid: string;
  readonly keyed: KeyedStateSnapshot | undefined;
  /** How TTL states are laid out and cleaned up in this snapshot, taken with it. */
  readonly ttl?: SnapshotTtlLayout | undefined;
  /** The keyed state backend of a keyed operator. */
  readonly stateBackend?: string;
  readonly operator: OperatorStateSnapshot;
  /** Incremental checkpoints: the member's chains, which the checkpoint builds on and is recorded in. */
  readonly book?: ChainBook;
}

export interface SubtaskSnapshotJob {
  readonly checkpointId: number;
  /** Resolves to undefined when the snapshot was aborted before its location was known here. */
  readonly target: CheckpointTarget | Promise<CheckpointTarget | undefined>;
  /** The chain's id and its head's uid (the data file is named after the head). */
  readonly chain: { readonly id: number; readonly headUid: string };
  readonly subtask: number;
  /** The attempt, so that a shared file's name is never reused by a later attempt's checkpoint of the same id. */
  readonly attempt?: number;
  readonly captured: readonly CapturedOperator[];
  readonly hooks: Pick<SubtaskHooks, 'acknowledge' | 'decline'>;
  /** How long capturing `captured` held the processing thread (reported with the ack). */
  readonly syncMs: number;
  /** Local recovery on: a checkpoint's (never a savepoint's) data file is also copied below it. */
  readonly localRecovery?: LocalRecovery | undefined;
  /** Local recovery of incremental checkpoints: the subtask's copies of shared files, told what each checkpoint refers to. */
  readonly localShared?: LocalSharedCopies | undefined;
}

/** Never rejects: the outcome goes to the hooks, and the captured snapshots are always released. */
export async function writeSubtaskSnapshot(job: SubtaskSnapshotJob): Promise<void> {
  const { checkpointId, chain, subtask, captured, hooks, syncMs } = job;
  const asyncStart = performance.now();
  let writer: DataFileWriter | undefined;
  try {
    const target = await job.target;
    if (target === undefined) return; // aborted: nothing to write
    if (target.shared !== undefined && !target.savepoint) {
      await writeShared(job, target.shared, asyncStart);
      return;
    }
    if (target.native === true && captured.some((c) => c.book?.base !== undefined)) {
      await writeNative(job, target.store, asyncStart);
      return;
    }
    const store = job.localRecovery === undefined || target.savepoint ? target.store : new LocalCopyTeeStore(target.store, localCheckpointDir(job.localRecovery, checkpointId));
    writer = await DataFileWriter.create(store, dataFilePath(toHex(operatorIdFromUid(chain.headUid)).slice(0, 12), subtask));
    const operators: SubtaskAck['operators'][number][] = [];
    for (const c of captured) {
      const keyed = c.keyed === undefined ? [] : await writeKeyedSnapshot(c.keyed, writer, c.uid, c.ttl);
      operators.push({ uid: c.uid, ...(c.stateBackend === undefined ? {} : { stateBackend: c.stateBackend }), keyed, operator: await writeOperatorSnapshot(c.operator, writer, c.uid) });
      faultPoint('snapshot-data');
    }
    const file = await writer.close();
    hooks.acknowledge({ checkpointId, chain: chain.id, subtask, file, operators, syncMs, asyncMs: performance.now() - asyncStart });
  } catch (err) {
    await writer?.abort().catch(() => undefined);
    hooks.decline(checkpointId, err, 'async-failure');
  } finally {
    for (const c of captured) c.keyed?.release();
  }
}

/**
 * An incremental checkpoint: one data file in `<jobId>/shared/`, with each keyed member's new
 * blocks (whole key groups or deltas on its chain book's base) and every member's operator state.
 * The ack lists each state's complete chains, whose older blocks lie in earlier checkpoints'
 * shared files (`referred`). The chains are recorded in the book only once the file is closed:
 * a checkpoint whose write failed is never a base.
 */
async function writeShared(job: SubtaskSnapshotJob, shared: SharedTarget, asyncStart: number): Promise<void> {
  const { checkpointId, chain, subtask } = job;
  // Unique per subtask and attempt: an aborted attempt's late write never lands on a file a later checkpoint refers to.
  const name = `${shared.dir}${sharedFileOwner(chain.headUid, subtask)}${sharedFileMarker(checkpointId)}${job.attempt ?? 0}-${randomBytes(4).toString('hex')}.tsfs`;
  const local = job.localRecovery === undefined ? undefined : job.localShared;
  // The shared file's local copy lies at `<local root>/<its path relative to the checkpoint root>`.
  const store = local === undefined ? shared.store : new LocalCopyTeeStore(shared.store, local.localRoot);
  // Chains are rewritten from their files where the thread can read them, for the on-disk backends: the heap's
  // rewrites read memory, and a heap job need not start the thread. The files are the checkpoint root's where it is
  // on local disk, else (S3) the local recovery copies, which lie at the same paths under the local root and are
  // kept while a checkpoint builds on them (`building`, writeChained). A key group whose base chain has a block without a
  // local copy (a file another subtask wrote, after a rescale; a restored checkpoint's) is not asked of the thread
  // (ChainRewriter.readsChains) and is read from the store.
  const root = shared.store.localDirectory?.() ?? local?.localRoot;
  const rewrite = root !== undefined && job.captured.some((c) => c.keyed !== undefined && onDisk(c.stateBackend)) ? chainRewriter(root) : undefined;
  await writeChained(job, asyncStart, { store, name, full: shared.full, local, rewrite, ack: (referred) => ({ shared: { referred } }) });
}

/**
 * A native savepoint of an incremental job: the same delta on the last confirmed checkpoint's
 * chains as a checkpoint would write, but into the savepoint directory; the coordinator copies
 * the shared files the chains refer to (`native.referred`) in beside it. Never recorded as a
 * base: the checkpoints after it keep building on the last confirmed checkpoint.
 */
async function writeNative(job: SubtaskSnapshotJob, store: ObjectStore, asyncStart: number): Promise<void> {
  const name = dataFilePath(toHex(operatorIdFromUid(job.chain.headUid)).slice(0, 12), job.subtask);
  await writeChained(job, asyncStart, { store, name, full: false, local: undefined, record: false, ack: (referred) => ({ native: { referred } }) });
}

/** The backends whose rewrites of whole key groups read their store on the processing thread. */
function onDisk(stateBackend: string | undefined): boolean {
  return stateBackend === 'rocksdb' || stateBackend === 'lmdb';
}

interface ChainedTarget {
  readonly store: ObjectStore;
  /** The file's path as `_metadata` names it. */
  readonly name: string;
  readonly full: boolean;
  readonly local: LocalSharedCopies | undefined;
  /** Record the chains in the book as this checkpoint's (false for a savepoint). Default true. */
  readonly record?: boolean;
  /** Rewrites chains off this thread (write-incremental-keyed-snapshot.ts), for the on-disk backends. */
  readonly rewrite?: ChainRewriter | undefined;
  readonly ack: (referred: WrittenFile[]) => Pick<SubtaskAck, 'shared' | 'native'>;
}

async function writeChained(job: SubtaskSnapshotJob, asyncStart: number, into: ChainedTarget): Promise<void> {
  const { checkpointId, chain, subtask, captured, hooks, syncMs } = job;
  const { store, name, local } = into;
  let writer: DataFileWriter | undefined;
  try {
    writer = await DataFileWriter.create(store, name);
    const results: (IncrementalKeyedResult | undefined)[] = [];
    const operatorParts: OperatorStatePartition[][] = [];
    for (const c of captured) {
      const base = into.full ? undefined : c.book?.base;
      // Read and registered in one step: a prune decided later keeps the copies this write's deltas build on.
      if (base !== undefined) local?.building(checkpointId, referencedFiles(base.chains).keys());
      results.push(
        c.keyed === undefined
          ? undefined
          : await writeIncrementalKeyedSnapshot(c.keyed, writer, {
              operatorUid: c.uid,
              sharedPath: name,
              base,
              forceFull: into.full,
              checkpointId,
              ...(c.ttl === undefined ? {} : { ttl: c.ttl }),
              ...(into.rewrite !== undefined && onDisk(c.stateBackend) ? { rewrite: into.rewrite } : {}),
            }),
      );
      operatorParts.push(await writeOperatorSnapshot(c.operator, writer, c.uid));
      faultPoint('snapshot-data');
    }
    const file = await writer.close();
    const referred = new Map<string, number>();
    const operators: SubtaskAck['operators'][number][] = captured.map((c, i) => {
      const result = results[i];
      let keyed: KeyedStateBlocks[] = [];
      if (result !== undefined) {
        const chains = completeChains(result, file.size);
        if (into.record !== false) c.book?.record(checkpointId, chains);
        for (const [path, size] of referencedFiles(chains)) if (path !== file.path) referred.set(path, size);
        keyed = result.states.map((state) => ({ info: state.info, blocks: chainBlocks(chains.get(state.info.name)?.chains) }));
      }
      return { uid: c.uid, ...(c.stateBackend === undefined ? {} : { stateBackend: c.stateBackend }), keyed, operator: operatorParts[i]! };
    });
    local?.written(checkpointId, [file.path, ...referred.keys()]);
    hooks.acknowledge({ checkpointId, chain: chain.id, subtask, file, ...into.ack([...referred].map(([path, size]) => ({ path, size }))), operators, syncMs, asyncMs: performance.now() - asyncStart });
  } catch (err) {
    local?.failed(checkpointId);
    await writer?.abort().catch(() => undefined);
    hooks.decline(checkpointId, err, 'async-failure');
  } finally {
    for (const c of captured) c.keyed?.release();
  }
}

/** A state's chains as `_metadata`'s KGIX lists them: key groups ascending, each chain in replay order. */
function chainBlocks(chains: ReadonlyMap<number, KeyGroupChain> | undefined): KeyedBlock[] {
  if (chains === undefined) return [];
  const out: KeyedBlock[] = [];
  for (const keyGroup of [...chains.keys()].sort((a, b) => a - b)) {
    for (const b of chains.get(keyGroup)!) out.push({ path: b.path, offset: b.offset, length: b.length, entries: b.entries, crc: b.crc, keyGroup, kind: b.kind });
  }
  return out;
}
