/**
 * A growable byte buffer for building element batches. Callers reserve room for a fixed-size
 * group of fields once and then write them unchecked: a bounds check per byte would cost more
 * than the write on the per-record path.
 */

const INITIAL_CAPACITY = 16 * 1024;
/** A buffer grown past this by a batch of large values is dropped once that batch is copied out. */
const KEPT_CAPACITY = 1024 * 1024;

export class ByteWriter {
  bytes = new Uint8Array(INITIAL_CAPACITY);
  view = new DataView(this.bytes.buffer);
  position = 0;

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.position + n > this.bytes.length) this.#grow(this.position + n);
  }

  /** The following writes assume `reserve` made room for them. */
  u8(v: number): void {
    this.bytes[this.position++] = v;
  }

  u32(v: number): void {
    this.view.setUint32(this.position, v, true);
    this.position += 4;
  }

  f64(v: number): void {
    this.view.setFloat64(this.position, v, true);
    this.position += 8;
  }

  /**
   * Writes the chars of `s` as one byte each, after reserving room, and returns true; if `s` has
   * a char >= 0x80 it writes nothing (the position is unchanged) and returns false.
   */
  asciiAt(s: string, at: number): boolean {
    const n = s.length;
    this.reserve(at - this.position + n);
    const bytes = this.bytes;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      bytes[at + i] = c;
    }
    return true;
  }

  /** Appends bytes (reserving room). */
  append(source: Uint8Array): void {
    this.reserve(source.length);
    this.bytes.set(source, this.position);
    this.position += source.length;
  }

  /** A copy of what was written, which the caller owns; the writer may then be reset and reused. */
  copy(): Uint8Array {
    return this.bytes.slice(0, this.position);
  }

  /** Starts again at `position`, keeping the buffer unless one large batch grew it. */
  reset(position: number): void {
    this.position = position;
    if (this.bytes.length > KEPT_CAPACITY) {
      this.bytes = new Uint8Array(INITIAL_CAPACITY);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  #grow(needed: number): void {
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const bytes = new Uint8Array(capacity);
    bytes.set(this.bytes.subarray(0, this.position));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }
}
