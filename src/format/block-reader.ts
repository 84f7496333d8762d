/**
 * Streams the frames of one block (docs/FORMAT.md 4.2) with ranged reads, checking each frame's
 * CRC before its items are used and the block's size, item count and CRC at the end. Holds at
 * most one read chunk plus one frame in memory (plus the range a RangeSource holds, if read through one).
 *
 * These checks are also what proves a local recovery copy (local-first-store.ts), which is read
 * without a pass of its own: a frame that fails them on a copy's bytes is read again, with the
 * rest of the block, from the checkpoint storage (ObjectStore.distrustCopy), once per block.
 */
import { FormatError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { crc32 } from './crc32.ts';
import { DATA_HEADER_SIZE, FRAME_HEADER_SIZE } from './layout.ts';
import type { BlockRef } from './model.ts';
import type { ByteFetch } from './range-source.ts';

export interface Frame {
  /** Absolute offset of the frame in its file, for messages. */
  readonly offset: number;
  readonly count: number;
  readonly payload: Buffer;
}

const CHUNK_BYTES = 4 * 1024 * 1024;

/** `fetch` reads the block's bytes (a RangeSource's, for many blocks); by default a ranged read of the store per chunk. */
export async function* readFrames(
  store: ObjectStore,
  path: string,
  block: BlockRef,
  fetch: ByteFetch = (offset, length) => store.getRange(path, offset, length),
): AsyncGenerator<Frame> {
  const where = store.describe(path);
  let buffered: Buffer = Buffer.alloc(0);
  let readUpTo = block.offset; // absolute offset of the next byte to fetch
  let position = block.offset; // absolute offset of buffered[0]
  const end = block.offset + block.length;
  let blockCrc = 0;
  let entries = 0;

  const fill = async (needed: number): Promise<void> => {
    while (buffered.length < needed) {
      const length = Math.min(Math.max(CHUNK_BYTES, needed - buffered.length), end - readUpTo);
      if (length <= 0) throw new FormatError(where, position, 'frame runs past the end of its block');
      const chunk = await fetch(readUpTo, length);
      if (chunk.length < length) throw new FormatError(where, readUpTo + chunk.length, 'file is truncated');
      readUpTo += length;
      buffered = buffered.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.concat([buffered, chunk]);
    }
  };

  /** The next frame, checked, left at the start of `buffered`. */
  const nextFrame = async (): Promise<{ frameLength: number; count: number }> => {
    await fill(FRAME_HEADER_SIZE);
    const payloadLength = buffered.readUInt32BE(0);
    const count = buffered.readUInt32BE(4);
    if (payloadLength > end - position - FRAME_HEADER_SIZE) {
      throw new FormatError(where, position, `frame length ${payloadLength} runs past the end of its block`);
    }
    const frameLength = FRAME_HEADER_SIZE + payloadLength;
    await fill(frameLength);
    const frame = buffered.subarray(0, frameLength);
    const expected = crc32(frame.subarray(FRAME_HEADER_SIZE), crc32(frame.subarray(0, 8)));
    if (frame.readUInt32BE(8) !== expected) throw new FormatError(where, position, 'frame checksum mismatch');
    if (count === 0) throw new FormatError(where, position, 'frame with no items');
    return { frameLength, count };
  };

  let readAgain = false;
  while (position < end) {
    let next: { frameLength: number; count: number };
    try {
      next = await nextFrame();
    } catch (err) {
      // Bytes of a local copy that fail the frame's checks are the copy's damage when the original's pass them.
      const original = readAgain || !(err instanceof FormatError) ? undefined : await store.distrustCopy?.(path, problemOf(err));
      if (original === undefined) throw err;
      readAgain = true;
      fetch = (offset, length) => original.getRange(path, offset, length);
      buffered = Buffer.alloc(0);
      readUpTo = position;
      continue;
    }
    const { frameLength, count } = next;
    const frame = buffered.subarray(0, frameLength);
    blockCrc = crc32(frame, blockCrc);
    entries += count;
    const payload = Buffer.from(frame.subarray(FRAME_HEADER_SIZE)); // a copy: the consumer may keep decoded views
    buffered = buffered.subarray(frameLength);
    const frameOffset = position;
    position += frameLength;
    yield { offset: frameOffset, count, payload };
  }
  // No reading again here: the frames are used. Every one passed its CRC, so a copy's damage
  // that fails these got past a frame's CRC by changing the stored CRC to match (one chance in
  // 2^32; CRC-32 misses an error pattern over any span that holds it, or over none): the copy is
  // still given up, so that the restart after this failure reads the original.
  let problem: FormatError | undefined;
  if (entries !== block.entries) problem = new FormatError(where, block.offset, `block holds ${entries} items, the index says ${block.entries}`);
  else if (blockCrc !== block.crc) problem = new FormatError(where, block.offset, 'block checksum mismatch');
  if (problem === undefined) return;
  await store.distrustCopy?.(path, problemOf(problem));
  throw problem;
}

/** The data file header of `path` (its first DATA_HEADER_SIZE bytes, by `fetch`) given to `check`; when that fails on a local copy's bytes, the original's (ObjectStore.distrustCopy). */
export async function checkHeaderBytes(store: ObjectStore, path: string, fetch: ByteFetch, check: (bytes: Uint8Array) => void): Promise<void> {
  try {
    check(await fetch(0, DATA_HEADER_SIZE));
  } catch (err) {
    const original = err instanceof FormatError ? await store.distrustCopy?.(path, problemOf(err)) : undefined;
    if (original === undefined) throw err;
    check(await original.getRange(path, 0, DATA_HEADER_SIZE));
  }
}

/** A FormatError's problem and offset, for the line that says a copy is not used. */
function problemOf(err: FormatError): string {
  return `${err.problem}${err.offset === undefined ? '' : ` at offset ${err.offset}`}`;
}
