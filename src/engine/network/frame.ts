/**
 * The frames a link carries, and their byte form on a stream link (TCP). A MessagePort link posts
 * the frame objects themselves (structured clone copies the payload; no encoding needed).
 *
 * On a stream every frame is `<u32 LE: length of what follows> <u8 type> <body>`:
 *
 *   DATA       <u16 LE id length> <channel id, UTF-8> <batch bytes>
 *   CREDIT     <u16 LE id length> <channel id> <u32 LE credits>
 *   END        <u16 LE id length> <channel id>
 *   HEARTBEAT  (nothing)
 *   GOODBYE    <reason, UTF-8>
 *   HELLO      <u8 protocol version> <u8 1: has a secret> <32-byte nonce> <endpoint id, UTF-8>
 *   CHALLENGE  <u8 1: has a proof> <32-byte nonce> <32-byte proof or zeros> <endpoint id>
 *   PROOF      <32-byte proof>
 *   WELCOME    <endpoint id, UTF-8>
 *   REFUSED    <reason, UTF-8>
 */
import { Buffer } from 'node:buffer';

export type Frame =
  | { readonly kind: 'data'; readonly channel: string; readonly batch: Uint8Array }
  | { readonly kind: 'credit'; readonly channel: string; readonly credits: number }
  | { readonly kind: 'end'; readonly channel: string }
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'goodbye'; readonly reason: string }
  | { readonly kind: 'hello'; readonly version: number; readonly hasSecret: boolean; readonly nonce: Uint8Array; readonly endpoint: string }
  | { readonly kind: 'challenge'; readonly nonce: Uint8Array; readonly proof: Uint8Array | undefined; readonly endpoint: string }
  | { readonly kind: 'proof'; readonly proof: Uint8Array }
  | { readonly kind: 'welcome'; readonly endpoint: string }
  | { readonly kind: 'refused'; readonly reason: string };

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 32;
/** A frame longer than this is garbage (a stray client, a bug), not a batch: the link fails. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const TYPES = ['data', 'credit', 'end', 'heartbeat', 'goodbye', 'hello', 'challenge', 'proof', 'welcome', 'refused'] as const;
const TYPE_CODE: Readonly<Record<Frame['kind'], number>> = Object.fromEntries(TYPES.map((t, i) => [t, i + 1])) as Record<Frame['kind'], number>;

export class FrameFormatError extends Error {
  override readonly name = 'FrameFormatError';
}

function head(kind: Frame['kind'], bodyBytes: number): Buffer {
  const out = Buffer.allocUnsafe(5 + bodyBytes);
  out.writeUInt32LE(1 + bodyBytes, 0);
  out[4] = TYPE_CODE[kind];
  return out;
}

/**
 * A frame as the buffers to write, in order. DATA is a header and the batch itself, so the
 * batch is not copied; a corked socket writes both in one go.
 */
export function encodeFrame(frame: Frame): Buffer[] {
  switch (frame.kind) {
    case 'data': {
      const id = Buffer.from(frame.channel, 'utf8');
      const h = head('data', 2 + id.length + frame.batch.length);
      h.writeUInt16LE(id.length, 5);
      return [Buffer.concat([h.subarray(0, 7), id]), Buffer.from(frame.batch.buffer, frame.batch.byteOffset, frame.batch.byteLength)];
    }
    case 'credit':
    case 'end': {
      const id = Buffer.from(frame.channel, 'utf8');
      const h = head(frame.kind, 2 + id.length + (frame.kind === 'credit' ? 4 : 0));
      h.writeUInt16LE(id.length, 5);
      id.copy(h, 7);
      if (frame.kind === 'credit') h.writeUInt32LE(frame.credits, 7 + id.length);
      return [h];
    }
    case 'heartbeat':
      return [head(frame.kind, 0)];
    case 'welcome':
    case 'goodbye':
    case 'refused': {
      const text = Buffer.from(frame.kind === 'welcome' ? frame.endpoint : frame.reason, 'utf8');
      const h = head(frame.kind, text.length);
      text.copy(h, 5);
      return [h];
    }
    case 'hello': {
      const id = Buffer.from(frame.endpoint, 'utf8');
      const h = head('hello', 2 + NONCE_BYTES + id.length);
      h[5] = frame.version;
      h[6] = frame.hasSecret ? 1 : 0;
      h.set(frame.nonce, 7);
      id.copy(h, 7 + NONCE_BYTES);
      return [h];
    }
    case 'challenge': {
      const id = Buffer.from(frame.endpoint, 'utf8');
      const h = head('challenge', 1 + 2 * NONCE_BYTES + id.length);
      h[5] = frame.proof === undefined ? 0 : 1;
      h.set(frame.nonce, 6);
      h.fill(0, 6 + NONCE_BYTES, 6 + 2 * NONCE_BYTES);
      if (frame.proof !== undefined) h.set(frame.proof, 6 + NONCE_BYTES);
      id.copy(h, 6 + 2 * NONCE_BYTES);
      return [h];
    }
    case 'proof': {
      const h = head('proof', NONCE_BYTES);
      h.set(frame.proof, 5);
      return [h];
    }
  }
}

/** Decodes one frame's type and body (what follows the length prefix). */
export function decodeFrame(body: Buffer): Frame {
  const kind = TYPES[(body[0] ?? 0) - 1];
  const need = (n: number): void => {
    if (body.length < n) throw new FrameFormatError(`${kind ?? 'frame'} frame of ${body.length} bytes is truncated`);
  };
  const channelAt = (): { channel: string; end: number } => {
    need(3);
    const n = body.readUInt16LE(1);
    need(3 + n);
    return { channel: body.toString('utf8', 3, 3 + n), end: 3 + n };
  };
  switch (kind) {
    case 'data': {
      const { channel, end } = channelAt();
      return { kind, channel, batch: body.subarray(end) };
    }
    case 'credit': {
      const { channel, end } = channelAt();
      need(end + 4);
      return { kind, channel, credits: body.readUInt32LE(end) };
    }
    case 'end':
      return { kind, channel: channelAt().channel };
    case 'heartbeat':
      return { kind };
    case 'welcome':
      return { kind, endpoint: body.toString('utf8', 1) };
    case 'goodbye':
    case 'refused':
      return { kind, reason: body.toString('utf8', 1) };
    case 'hello':
      need(3 + NONCE_BYTES);
      return { kind, version: body[1]!, hasSecret: body[2] === 1, nonce: body.subarray(3, 3 + NONCE_BYTES), endpoint: body.toString('utf8', 3 + NONCE_BYTES) };
    case 'challenge': {
      need(2 + 2 * NONCE_BYTES);
      const hasProof = body[1] === 1;
      return {
        kind,
        nonce: body.subarray(2, 2 + NONCE_BYTES),
        proof: hasProof ? body.subarray(2 + NONCE_BYTES, 2 + 2 * NONCE_BYTES) : undefined,
        endpoint: body.toString('utf8', 2 + 2 * NONCE_BYTES),
      };
    }
    case 'proof':
      need(1 + NONCE_BYTES);
      return { kind, proof: body.subarray(1, 1 + NONCE_BYTES) };
    default:
      throw new FrameFormatError(`unknown frame type ${body[0] ?? '(none)'}`);
  }
}

/**
 * Cuts a byte stream into frames, however the chunks fall. A frame inside one chunk is a view of
 * it (no copy); only a frame split across chunks is copied, once, into a buffer of its size.
 */
export class FrameDecoder {
  /** Bytes of an incomplete frame: its length prefix (or part of it) and what came of its body. */
  #partial: Buffer | undefined;
  #partialBytes = 0;

  /** The frames completed by this chunk, in order. Throws FrameFormatError on garbage. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    if (this.#partial !== undefined) {
      at = this.#fillPartial(chunk, frames);
      if (this.#partial !== undefined) return frames;
    }
    while (chunk.length - at >= 4) {
      const length = frameLength(chunk.readUInt32LE(at));
      if (chunk.length - at < 4 + length) break;
      frames.push(decodeFrame(chunk.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    if (at < chunk.length) {
      // The rest starts a frame: keep its prefix until the length is known, then room for all of it.
      const rest = chunk.subarray(at);
      this.#partial = Buffer.allocUnsafe(rest.length >= 4 ? 4 + frameLength(rest.readUInt32LE(0)) : 4);
      rest.copy(this.#partial);
      this.#partialBytes = rest.length;
    }
    return frames;
  }

  /** Completes the pending frame from the start of `chunk`; returns how much of it was used. */
  #fillPartial(chunk: Buffer, frames: Frame[]): number {
    let partial = this.#partial!;
    let used = 0;
    if (this.#partialBytes < 4) {
      used = Math.min(4 - this.#partialBytes, chunk.length);
      chunk.copy(partial, this.#partialBytes, 0, used);
      this.#partialBytes += used;
      if (this.#partialBytes < 4) return used;
      const whole = Buffer.allocUnsafe(4 + frameLength(partial.readUInt32LE(0)));
      partial.copy(whole, 0, 0, 4);
      this.#partial = partial = whole;
    }
    const take = Math.min(partial.length - this.#partialBytes, chunk.length - used);
    chunk.copy(partial, this.#partialBytes, used, used + take);
    this.#partialBytes += take;
    used += take;
    if (this.#partialBytes === partial.length) {
      this.#partial = undefined;
      this.#partialBytes = 0;
      frames.push(decodeFrame(partial.subarray(4)));
    }
    return used;
  }
}

function frameLength(length: number): number {
  if (length === 0 || length > MAX_FRAME_BYTES) throw new FrameFormatError(`frame length ${length} is out of range (1 to ${MAX_FRAME_BYTES})`);
  return length;
}
