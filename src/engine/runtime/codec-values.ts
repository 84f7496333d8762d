/**
 * Values inside an element batch: the common shapes written directly, everything else handed to
 * msgpackr once per batch. A value is a type byte and its payload:
 *
 *   NULL                 null and undefined (msgpackr's encodeUndefinedAsNil did the same)
 *   TRUE, FALSE
 *   INT32 <i32 LE>       a number equal to its int32 (-0 included, read back as 0 like msgpackr)
 *   FLOAT64 <f64 LE>     any other number (NaN and the infinities too)
 *   ASCII <u8 n> bytes   a string of n < 256 chars, all below 0x80
 *   ASCII_LONG <u32 n> bytes
 *   FALLBACK             the next value of the batch's msgpackr section
 *
 * Only values whose msgpackr round trip is the identity take the direct path (a non-ASCII string
 * goes to msgpackr, which decides what lone surrogates become), so a value reads back exactly as
 * it did when the whole batch went through msgpackr.
 */
import { InternalError } from '../../errors.ts';
import type { ByteReader } from './codec-byte-reader.ts';
import type { ByteWriter } from './codec-byte-writer.ts';

const NULL = 0;
const TRUE = 1;
const FALSE = 2;
const INT32 = 3;
const FLOAT64 = 4;
const ASCII = 5;
const ASCII_LONG = 6;
const FALLBACK = 7;

/** Bytes a number or null takes at most (type byte and f64). */
export const MAX_NUMBER_BYTES = 9;

/** A number or null, after `reserve(MAX_NUMBER_BYTES)`. */
export function writeNumberOrNull(w: ByteWriter, v: number | null): void {
  if (v === null) {
    w.u8(NULL);
  } else if ((v | 0) === v) {
    w.u8(INT32);
    w.view.setInt32(w.position, v, true);
    w.position += 4;
  } else {
    w.u8(FLOAT64);
    w.f64(v);
  }
}

/** Any value; one that takes no direct form is pushed onto `fallback` (the msgpackr section). */
export function writeValue(w: ByteWriter, v: unknown, fallback: unknown[]): void {
  w.reserve(MAX_NUMBER_BYTES);
  switch (typeof v) {
    case 'string':
      if (writeAscii(w, v)) return;
      break;
    case 'number':
      writeNumberOrNull(w, v);
      return;
    case 'boolean':
      w.u8(v ? TRUE : FALSE);
      return;
    case 'undefined':
      w.u8(NULL);
      return;
    case 'object':
      if (v === null) {
        w.u8(NULL);
        return;
      }
  }
  w.u8(FALLBACK);
  fallback.push(v);
}

function writeAscii(w: ByteWriter, s: string): boolean {
  const n = s.length;
  const start = w.position;
  const header = n < 256 ? 2 : 5;
  if (!w.asciiAt(s, start + header)) return false;
  if (n < 256) {
    w.u8(ASCII);
    w.u8(n);
  } else {
    w.u8(ASCII_LONG);
    w.u32(n);
  }
  w.position = start + header + n;
  return true;
}

/** Reads what writeValue or writeNumberOrNull wrote; FALLBACK values come from `fallback`. */
export function readValue(r: ByteReader, fallback: FallbackValues): unknown {
  const type = r.u8();
  switch (type) {
    case ASCII:
      return r.ascii(r.u8());
    case NULL:
      return null;
    case INT32:
      return r.i32();
    case FLOAT64:
      return r.f64();
    case TRUE:
      return true;
    case FALSE:
      return false;
    case ASCII_LONG:
      return r.ascii(r.u32());
    case FALLBACK:
      return fallback.next();
  }
  throw new InternalError(`corrupt element batch: unknown value type ${type} at ${r.position - 1}`);
}

/** The values of a batch's msgpackr section, handed out in the order they were written. */
export class FallbackValues {
  #values: readonly unknown[] = [];
  #next = 0;

  reset(values: readonly unknown[]): void {
    this.#values = values;
    this.#next = 0;
  }

  next(): unknown {
    if (this.#next >= this.#values.length) throw new InternalError('corrupt element batch: more fallback values referenced than the batch holds');
    return this.#values[this.#next++];
  }
}
