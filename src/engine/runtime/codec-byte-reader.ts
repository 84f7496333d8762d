/**
 * Reads the fields of one received batch. Short ASCII strings are cut from one latin1 string of
 * the whole batch, made on the first such read: a substring shorter than V8's sliced-string
 * threshold (13 chars) is a fresh flat copy built without leaving JS, about a twentieth of the
 * cost of a native decode per string. Longer strings are decoded on their own, so that no value
 * kept in state (a key, a buffered element) pins the whole batch's memory through a slice.
 */
import { Buffer } from 'node:buffer';

/** Below this length V8 copies substrings instead of slicing (SlicedString::kMinLength). */
const COPIED_SUBSTRING = 13;

const EMPTY = new Uint8Array(0);

export class ByteReader {
  #bytes: Uint8Array = EMPTY;
  #view: DataView<ArrayBufferLike> = new DataView(EMPTY.buffer);
  #buffer: Buffer = Buffer.alloc(0);
  #chars: string | undefined;
  position = 0;

  load(bytes: Uint8Array, position: number): void {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#chars = undefined;
    this.position = position;
  }

  /** Drops the batch, so it can be collected while the channel waits for the next one. */
  release(): void {
    this.load(EMPTY, 0);
  }

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  u8(): number {
    return this.#bytes[this.position++]!;
  }

  u32(): number {
    const v = this.#view.getUint32(this.position, true);
    this.position += 4;
    return v;
  }

  i32(): number {
    const v = this.#view.getInt32(this.position, true);
    this.position += 4;
    return v;
  }

  f64(): number {
    const v = this.#view.getFloat64(this.position, true);
    this.position += 8;
    return v;
  }

  /** `n` bytes, each below 0x80, as a string. */
  ascii(n: number): string {
    const start = this.position;
    const end = start + n;
    this.position = end;
    if (n < COPIED_SUBSTRING) {
      this.#chars ??= this.#buffer.toString('latin1');
      return this.#chars.substring(start, end);
    }
    return this.#buffer.toString('latin1', start, end);
  }
}
