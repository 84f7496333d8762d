/**
 * A key group's blocks encoded off the processing thread (the lmdb snapshot thread, the chain
 * rewrite thread): every state's keys and stored values written by a DataFileWriter into memory,
 * starting from the processing thread's frame limit, and handed back as one buffer with where each
 * block's frames are in it. The processing thread appends the frames (DataFileWriter.writeFrames)
 * and goes on from the limit returned, so its file is byte for byte the one it would have written.
 */
import { InternalError } from '../../../errors.ts';
import { DataFileWriter } from '../../../format/data-file-writer.ts';
import { FRAME_HEADER_SIZE } from '../../../format/layout.ts';
import type { ObjectInfo, ObjectStore, ObjectWriter } from '../../../storage/object-store.ts';
import type { FrameRef, KeyGroupFrames, PackedStateRef } from './lmdb-snapshot-protocol.ts';

/**
 * A key group's writer starts its buffer here rather than at a file writer's megabyte: one writer
 * per group, 128 or more groups a checkpoint, most of them deltas of a few KiB. The megabyte each
 * made the chain rewrite thread collect garbage for external memory pressure over 100 times in a
 * 6M-record run (issue 13).
 */
const GROUP_BUFFER_BYTES = 16 * 1024;

/** `keys[i]`, `values[i]`: state i's key strings and stored values, in the order they go into its block. */
export async function encodeKeyGroupFrames(
  states: readonly PackedStateRef[],
  keyGroup: number,
  maxParallelism: number,
  keys: readonly (readonly string[])[],
  values: readonly (readonly Uint8Array[])[],
  frameLimit: number,
): Promise<Omit<KeyGroupFrames, 'entries'>> {
  const sink = new ChunkStore();
  const writer = await DataFileWriter.create(sink, 'key-group', GROUP_BUFFER_BYTES);
  writer.continueFrameLimit(frameLimit);
  const blocks = [];
  for (let i = 0; i < states.length; i++) {
    blocks.push(await writer.writeCanonicalPackedKeyGroup(states[i]!.label, states[i]!.kind, keyGroup, maxParallelism, keys[i]!, values[i]!));
  }
  const nextLimit = writer.frameLimit;
  await writer.close();
  const bytes = sink.bytes();
  return { states: blocks.map((block) => framesOf(bytes, block)), bytes, frameLimit: nextLimit };
}

/** Per state, the frames of its `upserts` block and of its `deletions` block (none: the block is not written). */
export interface DeltaFrames {
  readonly states: readonly { readonly upserts: readonly FrameRef[]; readonly deletions: readonly FrameRef[] }[];
  readonly bytes: Uint8Array;
  readonly frameLimit: number;
}

/**
 * A key group's delta, encoded as encodeKeyGroupFrames encodes a whole group: per state its
 * upserts (`keys[i]`, stored values `values[i]`) and then its deleted keys, as the processing
 * thread's writer writes them (write-incremental-keyed-snapshot.ts).
 */
export async function encodeDeltaFrames(
  states: readonly PackedStateRef[],
  keyGroup: number,
  maxParallelism: number,
  keys: readonly (readonly string[])[],
  values: readonly (readonly Uint8Array[])[],
  deletions: readonly (readonly string[])[],
  frameLimit: number,
): Promise<DeltaFrames> {
  const sink = new ChunkStore();
  const writer = await DataFileWriter.create(sink, 'key-group', GROUP_BUFFER_BYTES);
  writer.continueFrameLimit(frameLimit);
  const blocks = [];
  for (let i = 0; i < states.length; i++) {
    const upserts = await writer.writeCanonicalPackedKeyGroup(states[i]!.label, states[i]!.kind, keyGroup, maxParallelism, keys[i]!, values[i]!);
    blocks.push({ upserts, deletions: await writer.writeCanonicalDeletions(states[i]!.label, keyGroup, maxParallelism, deletions[i]!) });
  }
  const nextLimit = writer.frameLimit;
  await writer.close();
  const bytes = sink.bytes();
  return { states: blocks.map((b) => ({ upserts: framesOf(bytes, b.upserts), deletions: framesOf(bytes, b.deletions) })), bytes, frameLimit: nextLimit };
}

/** Where a block's frames lie in `bytes` (what the writer wrote). */
function framesOf(bytes: Uint8Array, block: { readonly offset: number; readonly length: number } | null): FrameRef[] {
  const frames: FrameRef[] = [];
  if (block === null) return frames;
  for (let at = block.offset; at < block.offset + block.length; ) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, FRAME_HEADER_SIZE);
    const length = view.getUint32(0);
    frames.push([view.getUint32(4), at + FRAME_HEADER_SIZE, length]);
    at += FRAME_HEADER_SIZE + length;
  }
  return frames;
}

/** Where the thread's DataFileWriter writes: memory, handed over as one buffer of its own. */
class ChunkStore implements ObjectStore {
  readonly location = "a thread's buffer";
  readonly #chunks: Uint8Array[] = [];

  bytes(): Uint8Array {
    // A group's writer hands its bytes over once, at close, as a copy of its own: most groups are one chunk.
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  describe(key: string): string {
    return `a thread's buffer for ${key}`;
  }

  async createWriter(): Promise<ObjectWriter> {
    const chunks = this.#chunks;
    return {
      async write(chunk) {
        // A copy: the writer reuses its buffer.
        chunks.push(Uint8Array.prototype.slice.call(chunk));
      },
      async close() {},
      async abort() {},
    };
  }

  stat(): Promise<ObjectInfo | undefined> {
    throw new InternalError("a thread's key group buffer is written only");
  }

  get(): Promise<Uint8Array> {
    throw new InternalError("a thread's key group buffer is written only");
  }

  getRange(): Promise<Uint8Array> {
    throw new InternalError("a thread's key group buffer is written only");
  }

  publish(): Promise<void> {
    throw new InternalError("a thread's key group buffer is written only");
  }

  list(): AsyncIterable<ObjectInfo> {
    throw new InternalError("a thread's key group buffer is written only");
  }

  delete(): Promise<void> {
    throw new InternalError("a thread's key group buffer is written only");
  }
}
