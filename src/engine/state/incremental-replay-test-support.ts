/**
 * Tests of incremental checkpoints: reads chains back from their shared files and replays them
 * (FORMAT.md version 3: full and upserts set, deletions remove), checking on the way what a
 * reader may rely on (file sizes, blocks inside their files and not overlapping, chain order).
 */
import { readFrames } from '../../format/block-reader.ts';
import { createValueUnpackr } from '../../format/value-codec.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { OperatorChains } from '../checkpoint/keyed-chain.ts';
import { keyStringOf } from './key-string.ts';
import type { RegisteredStateInfo } from './state-descriptors.ts';
import { toSnapshotValue } from './state-value-layout.ts';
import { ttlValueForSnapshot } from './ttl/ttl-states.ts';

const unpackr = createValueUnpackr();

/** State name -> key string -> value as the snapshot lays it out. */
export type Content = Map<string, Map<string, unknown>>;

export async function replayChains(store: ObjectStore, chains: OperatorChains): Promise<Content> {
  const out: Content = new Map();
  const ranges = new Map<string, [number, number][]>();
  for (const [name, state] of chains) {
    const content = new Map<string, unknown>();
    out.set(name, content);
    for (const [keyGroup, chain] of state.chains) {
      chain.forEach((block, i) => {
        if (block.kind === 'full' && i !== 0) throw new Error(`${name} kg ${keyGroup}: a full block at step ${i}`);
      });
      const groupContent = new Map<string, unknown>();
      for (const block of chain) {
        const info = await store.stat(block.path);
        if (info?.size !== block.fileSize) throw new Error(`${block.path}: size ${info?.size}, the chain says ${block.fileSize}`);
        if (block.offset + block.length > block.fileSize) throw new Error(`${block.path}: a block runs past the end of its file`);
        let list = ranges.get(block.path);
        if (list === undefined) ranges.set(block.path, (list = []));
        list.push([block.offset, block.offset + block.length]);
        for await (const frame of readFrames(store, block.path, { file: 0, ...block })) {
          const decoded = unpackr.unpackMultiple(frame.payload) as unknown[][];
          if (block.kind === 'deletions') for (const key of decoded[0]!) groupContent.delete(keyStringOf(key));
          else decoded[0]!.forEach((key, j) => groupContent.set(keyStringOf(key), decoded[1]![j]));
        }
      }
      for (const [k, v] of groupContent) content.set(k, v);
    }
  }
  for (const [path, list] of ranges) {
    // A block referred to by two chains is a bug too: each state and key group has its own.
    list.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < list.length; i++) if (list[i]![0] < list[i - 1]![1]) throw new Error(`${path}: blocks overlap at ${list[i]![0]}`);
  }
  return out;
}

/** What a full snapshot of `data` holds, laid out as the writer lays it out (`ttl`: cleanupFullSnapshot at `now`). */
export function expectedContent(states: readonly RegisteredStateInfo[], data: Map<string, Map<string, unknown>>, now: number, expireIn: ReadonlyMap<string, number>): Content {
  const out: Content = new Map();
  for (const info of states) {
    const content = new Map<string, unknown>();
    for (const [key, stored] of data.get(info.name)!) {
      let value = toSnapshotValue(info.kind, stored);
      if (info.ttl !== null) value = ttlValueForSnapshot(info.kind, value, now, expireIn.get(info.name));
      if (value !== undefined) content.set(key, value);
    }
    out.set(info.name, content);
  }
  return out;
}
