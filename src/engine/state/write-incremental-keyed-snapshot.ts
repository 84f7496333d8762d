/**
 * Writes a keyed snapshot for an incremental checkpoint (FORMAT.md version 3) into a subtask's
 * shared data file: per key group either the whole group (a `full` block per state, a new chain)
 * or only what changed since the base checkpoint (`upserts` and `deletions` blocks appended to
 * the base chain), as chain-policy.ts decides. Same yielding and TTL layout as
 * write-keyed-snapshot.ts, which writes every other snapshot.
 *
 * TTL under `cleanupFullSnapshot`: upserted values are laid out and cleaned as in a full block,
 * and a key whose value expired entirely is added to the deletions, so a restore sees neither
 * it nor its base value. Unchanged keys are not read, so values that expired since their block
 * was written stay in the chain until the key group is next written whole (within
 * `maxDeltaSteps` checkpoints); the TTL layer hides them after a restore as it does any
 * expired value (Flink's incremental RocksDB checkpoints do not clean them at all).
 *
 * Values a backend hands out as stored MessagePack (`CapturedEntries.packed`: the on-disk
 * backends' value-like states without TTL) go into `full` and `upserts` blocks without being
 * decoded and packed again (DataFileWriter.writeCanonicalPackedKeyGroup): that was most of what
 * writing a checkpoint cost on those backends.
 *
 * The file's size is known only when it is closed, after every operator of the subtask wrote
 * into it, so this returns chains whose new blocks have no `fileSize` yet; the caller closes the
 * writer and calls `completeChains(result, size)` for the chains it acknowledges and records.
 */
import { InternalError } from '../../errors.ts';
import type { DataFileWriter, WrittenBlock } from '../../format/data-file-writer.ts';
import type { KeyedBlockKind } from '../../format/model.ts';
import type { KeyedStateInfo } from '../../format/snapshot-writer.ts';
import type { ChainBase } from '../checkpoint/chain-book.ts';
import { type ChainLimits, DEFAULT_CHAIN_LIMITS, decideKeyGroup, decideKeyGroups } from '../checkpoint/chain-policy.ts';
import type { ChainRewriter, RecordedGroup } from '../checkpoint/chain-rewrite-thread.ts';
import { type ChainBlock, type ChainLayout, type KeyGroupChain, type OperatorChains, sameLayout, type StateChains } from '../checkpoint/keyed-chain.ts';
import { type CapturedChanges, type CapturedEntries, EMPTY_BASE, type EncodedKeyGroup, type KeyedStateSnapshot, type TakeOptions } from './keyed-state-backend.ts';
import { isPackedValueState, type RegisteredStateInfo } from './state-descriptors.ts';
import { toSnapshotValues } from './state-value-layout.ts';
import { type SnapshotTtlLayout, ttlValueForSnapshot } from './ttl/ttl-states.ts';
import type { KeyedBlock } from './write-keyed-snapshot.ts';

export interface IncrementalKeyedOptions {
  readonly operatorUid: string;
  /** The writer's file as `_metadata` names a shared file: relative to the checkpoint root (`<jobId>/shared/<name>.tsfs`). */
  readonly sharedPath: string;
  /** The last confirmed checkpoint's chains of this operator (ChainBook.base); undefined: every key group whole. */
  readonly base: ChainBase | undefined;
  /** `flink checkpoint --full`: every key group whole, a new base for the checkpoints after it. */
  readonly forceFull?: boolean;
  /** The checkpoint being written, to spread the rewrites of long chains over checkpoints (chain-policy.ts). */
  readonly checkpointId?: number;
  readonly limits?: ChainLimits;
  readonly ttl?: SnapshotTtlLayout;
  /**
   * Writes the key groups the chain policy rewrites to keep chains bounded from the base chain's
   * files and the changes, off this thread (chain-rewrite-thread.ts), where the backend would read
   * them whole from its store here. Only given when the checkpoint root is on local disk.
   */
  readonly rewrite?: ChainRewriter;
}

/** A chain block written by this checkpoint, whose file size is filled in by `completeChains`. */
export type DraftChainBlock = Omit<ChainBlock, 'fileSize'> & { readonly fileSize: number | undefined };

export type WrittenChainBlock = KeyedBlock & { readonly kind: KeyedBlockKind };

export interface IncrementalStateBlocks {
  readonly info: KeyedStateInfo;
  readonly layout: ChainLayout;
  /** Every key group with blocks: its complete chain, base blocks and new ones. */
  readonly chains: ReadonlyMap<number, readonly DraftChainBlock[]>;
  /** The blocks this checkpoint wrote (its `checkpointed_size`). */
  readonly written: readonly WrittenChainBlock[];
}

export interface IncrementalKeyedResult {
  readonly states: readonly IncrementalStateBlocks[];
  readonly fullKeyGroups: number;
  readonly deltaKeyGroups: number;
}

const WRITE_SLICE_MS = 4; // as write-keyed-snapshot.ts

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function layoutOf(info: RegisteredStateInfo): ChainLayout {
  return { kind: info.kind, schemaVersion: info.schemaVersion, ttlLayout: info.ttl !== null };
}

/**
 * Writes `snapshot` into `writer` key group by key group and releases it. Every state is listed,
 * also one without blocks. A state whose layout differs from its base's (kind, schema version,
 * TTL turned on or off) cannot extend the base's chains: the whole snapshot is then written full.
 */
export async function writeIncrementalKeyedSnapshot(snapshot: KeyedStateSnapshot, writer: DataFileWriter, options: IncrementalKeyedOptions): Promise<IncrementalKeyedResult> {
  try {
    const { operatorUid, sharedPath, base } = options;
    const limits = options.limits ?? DEFAULT_CHAIN_LIMITS;
    const states = snapshot.states;
    const layouts = states.map(layoutOf);
    const baseStates: (StateChains | undefined)[] = states.map((info) => base?.chains.get(info.name));
    const layoutChanged = baseStates.some((b, i) => b !== undefined && !sameLayout(b.layout, layouts[i]!));
    const context = { hasBase: base !== undefined && snapshot.takeKeyGroupChanges !== undefined, forceFull: options.forceFull === true || layoutChanged };
    const labels = states.map((info) => `${operatorUid}/${info.name}`);
    const chains = states.map(() => new Map<number, DraftChainBlock[]>());
    const written: WrittenChainBlock[][] = states.map(() => []);
    let fullKeyGroups = 0;
    let deltaKeyGroups = 0;
    const now = options.ttl?.now ?? Date.now();
    const expireIn = (i: number): number | undefined => options.ttl?.expireIn.get(states[i]!.name);

    const write = async (i: number, keyGroup: number, kind: KeyedBlockKind, keys: readonly string[], values: readonly unknown[], packed?: readonly Uint8Array[]): Promise<void> => {
      const block =
        kind === 'deletions'
          ? await writer.writeCanonicalDeletions(labels[i]!, keyGroup, snapshot.maxParallelism, keys)
          : packed !== undefined
            ? await writer.writeCanonicalPackedKeyGroup(labels[i]!, states[i]!.kind, keyGroup, snapshot.maxParallelism, keys, packed)
            : await writer.writeCanonicalKeyGroup(labels[i]!, states[i]!.kind, keyGroup, snapshot.maxParallelism, keys, values);
      record(i, keyGroup, kind, block);
    };
    const record = (i: number, keyGroup: number, kind: KeyedBlockKind, block: WrittenBlock | null): void => {
      if (block === null) return;
      written[i]!.push({ ...block, keyGroup, kind });
      let chain = chains[i]!.get(keyGroup);
      if (chain === undefined) chains[i]!.set(keyGroup, (chain = []));
      chain.push({ path: sharedPath, fileSize: undefined, offset: block.offset, length: block.length, entries: block.entries, crc: block.crc, kind });
    };

    const { start, end } = snapshot.keyGroupRange;
    const groups = [];
    for (let keyGroup = start; keyGroup <= end; keyGroup++) groups.push({ keyGroup, chains: baseStates.map((b) => b?.chains.get(keyGroup) ?? []) });
    const decisions = decideKeyGroups(groups, { ...context, checkpointId: options.checkpointId, ...(base === undefined ? {} : { baseCheckpointId: base.checkpointId }) }, limits);
    const writeDelta = async (keyGroup: number, baseChains: readonly KeyGroupChain[], changes: readonly CapturedChanges[]): Promise<void> => {
      deltaKeyGroups += 1;
      for (let i = 0; i < changes.length; i++) {
        const { info, upserts, deletions } = changes[i]!;
        checkState(states, i, info, operatorUid);
        if (baseChains[i]!.length > 0) chains[i]!.set(keyGroup, [...baseChains[i]!]);
        if (isPacked(upserts, info)) {
          await write(i, keyGroup, 'upserts', upserts.keys, [], upserts.packed);
          await write(i, keyGroup, 'deletions', deletions, []);
          continue;
        }
        const laidOut = snapshotLayout(info, upserts.keys, toSnapshotValues(info.kind, upserts.values), now, expireIn(i));
        await write(i, keyGroup, 'upserts', laidOut.keys, laidOut.values);
        // An upsert whose value expired under cleanupFullSnapshot is deleted, so a restore sees neither it nor the base's value.
        await write(i, keyGroup, 'deletions', laidOut.dropped.length === 0 ? deletions : [...deletions, ...laidOut.dropped], []);
      }
    };
    const writeEncoded = async (keyGroup: number, encoded: EncodedKeyGroup): Promise<void> => {
      fullKeyGroups += 1;
      for (let i = 0; i < states.length; i++) record(i, keyGroup, 'full', await writer.writeFrames(encoded.states[i] ?? []));
      writer.continueFrameLimit(encoded.frameLimit);
    };
    /** A key group the thread wrote from the recorded changes: a delta, or full blocks. */
    const writeRecorded = async (keyGroup: number, baseChains: readonly KeyGroupChain[], group: RecordedGroup): Promise<void> => {
      if (group.full) return writeEncoded(keyGroup, group.encoded);
      deltaKeyGroups += 1;
      for (let i = 0; i < states.length; i++) {
        if (baseChains[i]!.length > 0) chains[i]!.set(keyGroup, [...baseChains[i]!]);
        record(i, keyGroup, 'upserts', await writer.writeFrames(group.states[i]?.upserts ?? []));
        record(i, keyGroup, 'deletions', await writer.writeFrames(group.states[i]?.deletions ?? []));
      }
      writer.continueFrameLimit(group.frameLimit);
    };
    // The rewrite thread takes value-like states without TTL (their stored bytes are their blocks' values), from a base.
    // For a rewrite the chain policy asks for although every chain could grow (its stagger and early rewrites), the changes
    // are as few as a delta's, taken however the backend takes them. Other rewrites (a chain past its delta ratio or
    // length, a key group new since the base) go to the thread only with changes the backend recorded: while 1M keys
    // are first written, a rewrite's changes are most of the group, and reading them one key at a time from the store
    // would cost more than reading the group whole (issue 13: those whole reads were 1.1 s of the processing thread
    // over a 3M-record rocksdb run).
    // Without a base (the first checkpoint), a backend that began empty hands out every entry as a change since then
    // (EMPTY_BASE), where it recorded them: the thread writes the group from those alone, where the processing thread
    // would read the whole state from the store.
    const valueLike = states.every(isPackedValueState);
    const since = base?.checkpointId ?? EMPTY_BASE;
    const rewriteTake = (baseChains: readonly KeyGroupChain[]): TakeOptions | undefined =>
      !valueLike || context.forceFull || snapshot.takeKeyGroupChanges === undefined
        ? undefined
        : base !== undefined && decideKeyGroup(baseChains, { hasBase: true, forceFull: false }, limits) === 'delta'
          ? { packed: true }
          : { packed: true, recordedOnly: true };

    // Where the backend recorded every change since the base as written (value-like states without TTL), the thread is
    // handed them once, whole, and writes every key group from them: its deltas and its full blocks. Taking each group's
    // changes here (grouping the records by key group, looking each changed key up, sorting, checking and copying the
    // values) was most of what the checkpoints of a job loading 1M keys cost its processing thread (issue 13).
    // A full block needs every base file at hand (chain-rewrite-thread.ts); a group without is read from the store here.
    const recorded =
      valueLike && !context.forceFull && options.rewrite !== undefined
        ? await recordedGroups(
            snapshot,
            since,
            options.rewrite,
            labels,
            groups.filter(({ keyGroup, chains }) => decisions.get(keyGroup) === 'delta' || options.rewrite!.readsChains(chains)).map(({ keyGroup, chains }) => ({ keyGroup, full: decisions.get(keyGroup) !== 'delta', chains })),
            writer.frameLimit,
          )
        : undefined;

    let sliceStart = performance.now();
    for (const { keyGroup, chains: baseChains } of groups) {
      const fromThread = recorded?.get(keyGroup);
      if (fromThread !== undefined) {
        await writeRecorded(keyGroup, baseChains, fromThread);
        snapshot.releaseKeyGroup(keyGroup);
        if (performance.now() - sliceStart >= WRITE_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
        continue;
      }
      let changes: readonly CapturedChanges[] | undefined;
      if (decisions.get(keyGroup) === 'delta') changes = await snapshot.takeKeyGroupChanges!(keyGroup, base!.checkpointId, { packed: true });
      if (changes !== undefined) await writeDelta(keyGroup, baseChains, changes);
      else {
        // Read and encoded off this thread where the backend can (lmdb's snapshot thread): the same frames, so the same file.
        const encoded = await snapshot.takeKeyGroupFrames?.(keyGroup, labels, writer.frameLimit);
        let done = encoded !== undefined;
        if (encoded !== undefined) await writeEncoded(keyGroup, encoded);
        const take = options.rewrite === undefined || done ? undefined : rewriteTake(baseChains);
        // A thread still starting is waited for (chain-rewrite-thread.ts): reading the group here costs more.
        const rewriter =
          take !== undefined && (options.rewrite!.available || ((await options.rewrite!.ready) && options.rewrite!.available)) && options.rewrite!.readsChains(baseChains) ? options.rewrite : undefined;
        if (rewriter !== undefined && take !== undefined) {
          const taken = await snapshot.takeKeyGroupChanges!(keyGroup, since, take);
          if (taken !== undefined) {
            const fromChain = taken.every((c) => c.upserts.packed !== undefined)
              ? await rewriter.rewrite({
                  keyGroup,
                  maxParallelism: snapshot.maxParallelism,
                  frameLimit: writer.frameLimit,
                  states: taken.map((c, i) => ({ label: labels[i]!, kind: states[i]!.kind as 'value' | 'reducing' | 'aggregating', chain: baseChains[i]!, upserts: { keys: c.upserts.keys, packed: c.upserts.packed! }, deletions: c.deletions })),
                })
              : undefined;
            // Else the thread could not (a damaged base file, say): the group is read whole below, as before the thread,
            // which also leaves a damaged block out of its chain from now on.
            if (fromChain !== undefined) {
              await writeEncoded(keyGroup, fromChain);
              done = true;
            }
          }
        }
        if (!done) {
          fullKeyGroups += 1;
          const captured = await snapshot.takeKeyGroup(keyGroup, { packed: true });
          for (let i = 0; i < captured.length; i++) {
            const { info, keys } = captured[i]!;
            checkState(states, i, info, operatorUid);
            if (isPacked(captured[i]!, info)) await write(i, keyGroup, 'full', keys, [], captured[i]!.packed);
            else {
              const laidOut = snapshotLayout(info, keys, toSnapshotValues(info.kind, captured[i]!.values), now, expireIn(i));
              await write(i, keyGroup, 'full', laidOut.keys, laidOut.values);
            }
          }
        }
      }
      snapshot.releaseKeyGroup(keyGroup);
      if (performance.now() - sliceStart >= WRITE_SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    return {
      states: states.map((info, i) => ({ info: { ...info }, layout: layouts[i]!, chains: chains[i]!, written: written[i]! })),
      fullKeyGroups,
      deltaKeyGroups,
    };
  } finally {
    snapshot.release();
  }
}

/**
 * The key groups `groups` written by the rewrite thread from the snapshot's recorded changes since
 * `since` (once it is up), or undefined where there are none or no thread; a group it could not
 * write is missing.
 */
async function recordedGroups(
  snapshot: KeyedStateSnapshot,
  since: number,
  rewrite: ChainRewriter,
  labels: readonly string[],
  groups: readonly { readonly keyGroup: number; readonly full: boolean; readonly chains: readonly KeyGroupChain[] }[],
  frameLimit: number,
): Promise<ReadonlyMap<number, RecordedGroup> | undefined> {
  const changes = snapshot.recordedChanges?.(since);
  if (changes === undefined || groups.length === 0) return undefined;
  // A thread still starting is waited for: reading the key groups here costs more (chain-rewrite-thread.ts).
  if (!rewrite.available && !((await rewrite.ready) && rewrite.available)) return undefined;
  const states = snapshot.states.map((info, i) => ({ label: labels[i]!, kind: info.kind as 'value' | 'reducing' | 'aggregating' }));
  return rewrite.record(changes, states, snapshot.maxParallelism, groups, frameLimit);
}

/**
 * The chains of `result` with the size of the file they were written into (the writer's
 * `close()`), as the acknowledgement carries them and the chain book records them.
 */
export function completeChains(result: IncrementalKeyedResult, fileSize: number): OperatorChains {
  const out = new Map<string, StateChains>();
  for (const state of result.states) {
    const chains = new Map<number, KeyGroupChain>();
    for (const [keyGroup, chain] of state.chains) chains.set(keyGroup, chain.map((b) => ({ ...b, fileSize: b.fileSize ?? fileSize })));
    out.set(state.info.name, { layout: state.layout, chains });
  }
  return out;
}

/** Packed values need no layout: a backend hands them out only for states without TTL. */
function isPacked(entries: CapturedEntries, info: RegisteredStateInfo): entries is CapturedEntries & { readonly packed: readonly Uint8Array[] } {
  if (entries.packed === undefined) return false;
  if (info.ttl !== null) throw new InternalError(`state '${info.name}': packed values of a state with TTL, which needs them laid out`);
  return true;
}

function checkState(states: readonly RegisteredStateInfo[], i: number, info: RegisteredStateInfo, uid: string): void {
  if (states[i]?.name !== info.name) throw new InternalError(`${uid}: the snapshot handed out state '${info.name}' where '${states[i]?.name}' was expected`);
}

/**
 * Values as FORMAT.md lays them out; a TTL state's in 5.4, and with `cleanupFullSnapshot`
 * (`ttlMs` given) without what has expired by `now` (`dropped`: keys with nothing left). As
 * write-keyed-snapshot.ts's ttlLayout, keeping the dropped keys for a deletions block.
 */
function snapshotLayout(info: RegisteredStateInfo, keys: readonly string[], values: readonly unknown[], now: number, ttlMs: number | undefined): { keys: readonly string[]; values: readonly unknown[]; dropped: readonly string[] } {
  if (info.ttl === null) return { keys, values, dropped: [] };
  const outKeys: string[] = [];
  const outValues: unknown[] = [];
  const dropped: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const value = ttlValueForSnapshot(info.kind, values[i], now, ttlMs);
    if (value === undefined) dropped.push(keys[i]!);
    else {
      outKeys.push(keys[i]!);
      outValues.push(value);
    }
  }
  return { keys: outKeys, values: outValues, dropped };
}
