const NONE = Buffer.alloc(0);

/**
 * A growable byte buffer for assembling frames and files without a copy per small write. The
 * buffer is allocated on the first write, not when the sink is made: a DataFileWriter has four
 * sinks, and the threads that encode key groups make a writer per group, most of them small
 * deltas that never touch some sinks (issue 13: 1.3 MB of buffers allocated per writer, 128
 * writers per checkpoint, made the chain rewrite thread's isolate collect garbage for "external
 * memory pressure" about 130 times in a 6M-record run, on the cores the processing thread's
 * collector shares).
 */
export class ByteSink {
  #buffer: Buffer = NONE;
  #length = 0;

  constructor(private readonly initialCapacity = 64 * 1024) {}

  get length(): number {
    return this.#length;
  }

  /** Room for `extra` more bytes; returns the buffer to write into at `length`. */
  reserve(extra: number): Buffer {
    const needed = this.#length + extra;
    if (needed > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2, this.initialCapacity));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    return this.#buffer;
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Marks `count` bytes written directly into the buffer returned by `reserve`. */
  advance(count: number): void {
    this.#length += count;
  }

  /** The bytes so far (a view; valid until the next write or `clear`). */
  view(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  clear(): void {
    this.#length = 0;
  }
}

/** The shortest MessagePack array header for `count` elements. */
export function arrayHeader(count: number): Uint8Array {
  if (count <= 15) return Uint8Array.of(0x90 | count);
  if (count <= 0xffff) return Uint8Array.of(0xdc, count >>> 8, count & 0xff);
  return Uint8Array.of(0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff);
}
