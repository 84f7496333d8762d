/**
 * Writes a version 3 checkpoint from whole state held in memory, as an incremental job would:
 * each subtask's new blocks go into one shared file under `<root>/<jobId>/shared/`, key groups
 * unchanged since `base` refer to its blocks, changed ones append an upserts and/or a deletions
 * block to its chain (FORMAT.md 3.6), and `<root>/<jobId>/chk-<n>/_metadata` lists them all.
 * For the fixture script and tests; the engine drives SnapshotWriter itself.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import { DataFileWriter, type WrittenBlock, type WrittenFile } from './data-file-writer.ts';
import { keyGroupForBytes, rangeForSubtask } from './key-groups.ts';
import type { SnapshotMetadata } from './model.ts';
import { operatorIdFromUid, toHex } from './murmur3.ts';
import { type KeyedBlock, SnapshotWriter } from './snapshot-writer.ts';
import type { OperatorContent } from './write-snapshot.ts';

/** Per operator uid, per keyed state, per key group: the chain and each key's value as of it. */
export interface IncrementalBase {
  readonly checkpointId: number;
  readonly files: ReadonlyMap<string, WrittenFile>;
  readonly chains: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<number, { blocks: readonly KeyedBlock[]; content: ReadonlyMap<string, string> }>>>;
}

export interface IncrementalCheckpoint {
  readonly jobId: string;
  readonly jobName: string;
  readonly checkpointId: number;
  readonly createdAt: number;
  readonly operators: readonly OperatorContent[];
}

type Chains = Map<string, Map<string, Map<number, { blocks: KeyedBlock[]; content: Map<string, string> }>>>;

/**
 * Writes checkpoint `cp`: shared files through `root` (the checkpoint root), `_metadata` through
 * `snapshotStore` (opened at `<root>/<jobId>/chk-<n>`); returns its metadata and the base for the next one.
 */
export async function writeIncrementalCheckpoint(
  root: ObjectStore,
  snapshotStore: ObjectStore,
  cp: IncrementalCheckpoint,
  base?: IncrementalBase,
): Promise<{ metadata: SnapshotMetadata; base: IncrementalBase }> {
  const writer = new SnapshotWriter(snapshotStore, { kind: 'checkpoint', jobId: cp.jobId, jobName: cp.jobName, checkpointId: cp.checkpointId, createdAt: cp.createdAt });
  const chains: Chains = new Map();
  const referred = new Map<string, WrittenFile>();
  const written: WrittenFile[] = [];
  for (const op of cp.operators) {
    writer.addOperator(op);
    const tag = toHex(op.id ?? operatorIdFromUid(op.uid)).slice(0, 12);
    const opChains = new Map<string, Map<number, { blocks: KeyedBlock[]; content: Map<string, string> }>>();
    chains.set(op.uid, opChains);
    for (let subtask = 0; subtask < op.parallelism; subtask++) {
      const { start, end } = rangeForSubtask(subtask, op.parallelism, op.maxParallelism);
      let file: DataFileWriter | undefined;
      const data = async (): Promise<DataFileWriter> =>
        (file ??= await DataFileWriter.create(root, `${cp.jobId}/shared/${tag}-${subtask}-chk${cp.checkpointId}.tsfs`));
      for (const state of op.keyedStates ?? []) {
        const stateChains = opChains.get(state.name) ?? new Map();
        opChains.set(state.name, stateChains);
        const groups = groupCanonical(state.entries, op.maxParallelism);
        const previous = base?.chains.get(op.uid)?.get(state.name);
        const blocks: KeyedBlock[] = [];
        const label = `${op.uid}/${state.name}`;
        for (let g = start; g <= end; g++) {
          const now = groups.get(g) ?? new Map<string, { key: string; value: unknown; encoded: string }>();
          const before = previous?.get(g);
          const content = new Map([...now].map(([k, e]) => [k, e.encoded]));
          if (before === undefined) {
            if (now.size === 0) continue;
            const block = await (await data()).writeCanonicalKeyGroup(label, state.kind, g, op.maxParallelism, [...now.keys()], [...now.values()].map((e) => e.value));
            const chain = [{ ...block!, keyGroup: g, kind: 'full' as const }];
            stateChains.set(g, { blocks: chain, content });
            blocks.push(...chain);
            continue;
          }
          const upserts = [...now].filter(([k, e]) => before.content.get(k) !== e.encoded);
          const deletions = [...before.content.keys()].filter((k) => !now.has(k));
          const chain = [...before.blocks];
          if (upserts.length > 0) {
            const block = await (await data()).writeCanonicalKeyGroup(label, state.kind, g, op.maxParallelism, upserts.map(([k]) => k), upserts.map(([, e]) => e.value));
            chain.push({ ...block!, keyGroup: g, kind: 'upserts' });
          }
          if (deletions.length > 0) {
            const block = await (await data()).writeCanonicalDeletions(label, g, op.maxParallelism, deletions);
            chain.push({ ...block!, keyGroup: g, kind: 'deletions' });
          }
          for (const b of before.blocks) referred.set(b.path, base!.files.get(b.path)!);
          stateChains.set(g, { blocks: chain, content });
          blocks.push(...chain);
        }
        writer.addKeyedState(op.uid, state, blocks);
      }
      for (const state of op.operatorStates ?? []) {
        const items = state.partitions[subtask] ?? [];
        let block: WrittenBlock | null = null;
        if (items.length > 0) {
          const label = `${op.uid}/${state.name}`;
          block =
            state.kind === 'broadcast'
              ? await (await data()).writeBroadcastPartition(label, items as readonly (readonly [unknown, unknown])[])
              : await (await data()).writeListPartition(label, items);
        }
        writer.addOperatorState(op.uid, state, subtask, block);
      }
      if (file !== undefined) written.push(await file.close());
    }
  }
  for (const f of written) writer.addFile(f, { shared: true, written: true });
  for (const f of referred.values()) if (!written.some((w) => w.path === f.path)) writer.addFile(f, { shared: true, written: false });
  const metadata = await writer.finish();
  const files = new Map([...(base?.files ?? []), ...written.map((f) => [f.path, f] as const)]);
  return { metadata, base: { checkpointId: cp.checkpointId, files, chains } };
}

function groupCanonical(entries: Iterable<readonly [unknown, unknown]>, maxParallelism: number): Map<number, Map<string, { key: string; value: unknown; encoded: string }>> {
  const groups = new Map<number, Map<string, { key: string; value: unknown; encoded: string }>>();
  for (const [key, value] of entries) {
    const bytes = encodeCanonicalKey(key);
    const g = keyGroupForBytes(bytes, maxParallelism);
    const k = Buffer.from(bytes).toString('latin1');
    const group = groups.get(g) ?? new Map();
    groups.set(g, group);
    group.set(k, { key: k, value, encoded: JSON.stringify(value) });
  }
  return groups;
}
