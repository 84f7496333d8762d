/**
 * Reads what Java's DataInputStream reads: big-endian numbers and `writeUTF` strings (a u16 byte
 * length, then modified UTF-8). Every read checks the bytes are there, so a truncated file ends
 * in one FormatError naming the offset, never in a RangeError or a wrong value.
 */
import { FormatError } from '../../errors.ts';

export class JavaDataReader {
  #pos = 0;
  readonly #view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** How errors name the file (the `_metadata` path). */
    readonly file: string,
  ) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.bytes.length - this.#pos;
  }

  fail(problem: string, at: number = this.#pos, kind: 'corrupt' | 'unsupported' = 'corrupt'): never {
    throw new FormatError(this.file, at, problem, kind);
  }

  #need(n: number, what: string): number {
    if (n > this.remaining) {
      this.fail(`truncated: ${what} needs ${n} byte${n === 1 ? '' : 's'} but the file ends at offset ${this.bytes.length}`);
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(what = 'a byte'): number {
    return this.#view.getUint8(this.#need(1, what));
  }

  i8(what = 'a byte'): number {
    return this.#view.getInt8(this.#need(1, what));
  }

  u16(what = 'a short'): number {
    return this.#view.getUint16(this.#need(2, what));
  }

  i32(what = 'an int'): number {
    return this.#view.getInt32(this.#need(4, what));
  }

  /**
   * A Java long as a JS number. Sizes, offsets and ids in real snapshots stay far below 2^53; a
   * value beyond that is reported as damage rather than silently rounded.
   */
  i64(what = 'a long'): number {
    const at = this.#need(8, what);
    const value = this.#view.getBigInt64(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`${what} ${value} is beyond what this reader represents exactly (2^53)`, at);
    }
    return Number(value);
  }

  /** A count that must be >= 0 (list lengths): a negative one is damage, named with its offset. */
  count(what: string): number {
    const at = this.#pos;
    const n = this.i32(what);
    if (n < 0) this.fail(`negative ${what} ${n}`, at);
    return n;
  }

  /** `n` raw bytes (a view, not a copy). */
  take(n: number, what = 'bytes'): Uint8Array {
    if (n < 0) this.fail(`negative length ${n} of ${what}`);
    const at = this.#need(n, what);
    return this.bytes.subarray(at, at + n);
  }

  /** DataInputStream.readUTF: u16 byte length, then modified UTF-8 (NUL as C0 80, CESU-8 surrogates). */
  utf(what = 'a string'): string {
    const length = this.u16(`the length of ${what}`);
    const start = this.#pos;
    return decodeModifiedUtf8(this.take(length, what), (problem, i) => this.fail(`${problem} in ${what}`, start + i));
  }
}

/**
 * Modified UTF-8 as Java's DataInputStream.readUTF decodes it: 1-, 2- and 3-byte forms only,
 * each 3-byte form one UTF-16 unit (so surrogate pairs arrive as two units and join up in the JS
 * string). Malformed input is an error, as in Java (UTFDataFormatException).
 */
export function decodeModifiedUtf8(bytes: Uint8Array, fail: (problem: string, at: number) => never): string {
  const units: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const a = bytes[i]!;
    if (a < 0x80) {
      units.push(a);
      i += 1;
    } else if ((a & 0xe0) === 0xc0) {
      const b = bytes[i + 1];
      if (b === undefined || (b & 0xc0) !== 0x80) fail('malformed modified UTF-8', i);
      units.push(((a & 0x1f) << 6) | (b & 0x3f));
      i += 2;
    } else if ((a & 0xf0) === 0xe0) {
      const b = bytes[i + 1];
      const c = bytes[i + 2];
      if (b === undefined || c === undefined || (b & 0xc0) !== 0x80 || (c & 0xc0) !== 0x80) fail('malformed modified UTF-8', i);
      units.push(((a & 0x0f) << 12) | ((b & 0x3f) << 6) | (c & 0x3f));
      i += 3;
    } else {
      fail(`byte 0x${a.toString(16)} cannot start a modified UTF-8 character`, i);
    }
  }
  let out = '';
  for (let j = 0; j < units.length; j += 4096) out += String.fromCharCode(...units.slice(j, j + 4096));
  return out;
}
