/**
 * Batches of stream elements as bytes. Everything that crosses a subtask boundary goes through
 * here, so the same pipeline runs whether subtasks share a process or not. Records are neither
 * wrapped in objects on the way in (BatchBuilder) nor on the way out (BatchReader): at a few
 * hundred nanoseconds per record in all, an object per record per side is a visible share.
 *
 * A batch:
 *
 *   <u32 LE: byte offset of the msgpackr section, or the batch length if it has none>
 *   elements, each a tag byte and its fields:
 *     RECORD        value, timestamp
 *     KEYED_RECORD  <u32 key group> value, timestamp   (a record routed by key)
 *     WATERMARK     timestamp
 *     BARRIER       checkpoint id, <u8 savepoint>
 *     END
 *   [msgpackr section: one array of the values written as FALLBACK, in order]
 *
 * Values, timestamps and checkpoint ids are codec-values.ts's encoding. Strings, numbers,
 * booleans and null (the keys and values of most pipelines) are written directly; a generic
 * MessagePack encoder costs several times as much per element. Everything else goes through
 * msgpackr in one call per batch, and reads back as it did when whole batches went through
 * msgpackr.
 *
 * A record routed by key carries the key group its partitioner computed, so the keyed operator
 * behind the channel does not hash the key again.
 */
import { Packr, Unpackr } from 'msgpackr';
import { InternalError } from '../../errors.ts';
import { keysAsData } from '../../format/value-codec.ts';
import { ByteReader } from './codec-byte-reader.ts';
import { ByteWriter } from './codec-byte-writer.ts';
import { FallbackValues, MAX_NUMBER_BYTES, readValue, writeNumberOrNull, writeValue } from './codec-values.ts';
import type { StreamElement } from './stream-element.ts';

const RECORD = 0;
const WATERMARK = 1;
const BARRIER = 2;
const END = 3;
const KEYED_RECORD = 4;
const CANCEL_BARRIER = 5;

const HEADER_BYTES = 4;

/**
 * msgpackr renames a '__proto__' key to '__proto_' when it builds an object (records included),
 * so a section that holds those bytes anywhere is written without records, behind this byte
 * (0xc1, which MessagePack never uses), and read back as Maps that keysAsData turns into objects
 * with every key kept. A cheap byte search, so the usual batch pays nothing else.
 */
const KEYS_AS_DATA = 0xc1;
const PROTO = Buffer.from('__proto__');

// Records (msgpackr's extension) write an object's keys once per batch for all objects of that
// shape and decode about twice as fast as maps. Without shared structures and not sequential,
// each batch defines the shapes it uses, so it decodes on its own in any process; the values
// read back as the standard maps did (element-codec.test.ts checks this against the old options).
const packr = new Packr({ useRecords: true, encodeUndefinedAsNil: true, variableMapSize: true });
// msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run time.
const unpackr = new Unpackr({ useRecords: true, mapsAsObjects: true, int64AsType: 'auto' as 'number' });
const plainPackr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const carefulUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'auto' as 'number' });

function packFallback(values: unknown[]): Uint8Array {
  const packed = packr.pack(values);
  if (packed.indexOf(PROTO) === -1) return packed;
  const plain = plainPackr.pack(values);
  const out = new Uint8Array(plain.length + 1);
  out[0] = KEYS_AS_DATA;
  out.set(plain, 1);
  return out;
}

function unpackFallback(section: Uint8Array): unknown[] {
  if (section[0] !== KEYS_AS_DATA) return unpackr.unpack(section) as unknown[];
  return keysAsData(carefulUnpackr.unpack(section.subarray(1))) as unknown[];
}

/** Collects the elements of one batch in their encoded form. */
export class BatchBuilder {
  readonly #out = new ByteWriter();
  #fallback: unknown[] = [];
  #elements = 0;

  constructor() {
    this.#out.position = HEADER_BYTES;
  }

  get elements(): number {
    return this.#elements;
  }

  /** `keyGroup`: the record's key group, or -1 when it was not routed by key. */
  addRecord(value: unknown, timestamp: number | null, keyGroup: number): void {
    const out = this.#out;
    out.reserve(5);
    if (keyGroup < 0) {
      out.u8(RECORD);
    } else {
      out.u8(KEYED_RECORD);
      out.u32(keyGroup);
    }
    writeValue(out, value, this.#fallback);
    out.reserve(MAX_NUMBER_BYTES);
    writeNumberOrNull(out, timestamp);
    this.#elements += 1;
  }

  add(e: StreamElement): void {
    if (e.kind === 'record') {
      this.addRecord(e.value, e.timestamp, -1);
      return;
    }
    const out = this.#out;
    out.reserve(1 + MAX_NUMBER_BYTES + 1);
    switch (e.kind) {
      case 'watermark':
        out.u8(WATERMARK);
        writeNumberOrNull(out, e.timestamp);
        break;
      case 'barrier':
        out.u8(BARRIER);
        writeNumberOrNull(out, e.barrier.checkpointId);
        out.u8(e.barrier.savepoint ? 1 : 0);
        break;
      case 'cancel-barrier':
        out.u8(CANCEL_BARRIER);
        writeNumberOrNull(out, e.checkpointId);
        break;
      case 'end-of-input':
        out.u8(END);
        break;
    }
    this.#elements += 1;
  }

  /** The batch as bytes (a copy the caller owns); the builder starts empty again. */
  encode(): Uint8Array {
    const out = this.#out;
    out.view.setUint32(0, out.position, true);
    if (this.#fallback.length > 0) {
      out.append(packFallback(this.#fallback));
      this.#fallback = [];
    }
    const bytes = out.copy();
    out.reset(HEADER_BYTES);
    this.#elements = 0;
    return bytes;
  }
}

export function encodeBatch(elements: readonly StreamElement[]): Uint8Array {
  const builder = new BatchBuilder();
  for (const e of elements) builder.add(e);
  return builder.encode();
}

/** A record read by BatchReader.read(); its fields are on the reader. */
export const READ_RECORD = 'record';

/** Reads one batch element by element; a record's fields land on the reader itself. */
export class BatchReader {
  readonly #in = new ByteReader();
  readonly #fallback = new FallbackValues();
  #end = 0;
  /** The record read last: its value, timestamp and key group (-1 if it carries none). */
  value: unknown = undefined;
  timestamp: number | null = null;
  keyGroup = -1;

  get hasNext(): boolean {
    return this.#in.position < this.#end;
  }

  load(bytes: Uint8Array): void {
    if (bytes.length < HEADER_BYTES) throw new InternalError(`corrupt element batch: ${bytes.length} bytes`);
    const input = this.#in;
    input.load(bytes, 0);
    const end = input.u32();
    if (end < HEADER_BYTES || end > bytes.length) throw new InternalError(`corrupt element batch: elements end at ${end} of ${bytes.length} bytes`);
    this.#end = end;
    this.#fallback.reset(end < bytes.length ? unpackFallback(bytes.subarray(end)) : []);
  }

  /** The next element; READ_RECORD for a record, whose fields are then in value, timestamp, keyGroup. */
  read(): typeof READ_RECORD | Exclude<StreamElement, { kind: 'record' }> {
    const input = this.#in;
    const at = input.position;
    const tag = input.u8();
    let element: typeof READ_RECORD | Exclude<StreamElement, { kind: 'record' }>;
    if (tag === KEYED_RECORD || tag === RECORD) {
      this.keyGroup = tag === KEYED_RECORD ? input.u32() : -1;
      this.value = readValue(input, this.#fallback);
      this.timestamp = readValue(input, this.#fallback) as number | null;
      element = READ_RECORD;
    } else if (tag === WATERMARK) {
      element = { kind: 'watermark', timestamp: readValue(input, this.#fallback) as number };
    } else if (tag === BARRIER) {
      const checkpointId = readValue(input, this.#fallback) as number;
      element = { kind: 'barrier', barrier: { checkpointId, savepoint: input.u8() === 1 } };
    } else if (tag === CANCEL_BARRIER) {
      element = { kind: 'cancel-barrier', checkpointId: readValue(input, this.#fallback) as number };
    } else if (tag === END) {
      element = { kind: 'end-of-input' };
    } else {
      throw new InternalError(`corrupt element batch: unknown tag ${String(tag)} at ${at}`);
    }
    if (input.position >= this.#end) {
      if (input.position > this.#end) throw new InternalError(`corrupt element batch: element at ${at} runs past the end (${this.#end})`);
      // Let the batch be collected while the channel waits for the next one.
      input.release();
      this.#fallback.reset([]);
      this.#end = 0;
    }
    return element;
  }
}

/** A whole batch as elements (tests; the runtime reads with BatchReader). */
export function decodeBatch(bytes: Uint8Array): StreamElement[] {
  const reader = new BatchReader();
  reader.load(bytes);
  const out: StreamElement[] = [];
  while (reader.hasNext) {
    const e = reader.read();
    out.push(e === READ_RECORD ? { kind: 'record', value: reader.value, timestamp: reader.timestamp } : e);
  }
  return out;
}
