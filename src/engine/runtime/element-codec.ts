/**
 * Batches of stream elements as bytes. Everything that crosses a subtask boundary goes through
 * here, so the same pipeline runs whether subtasks share a process or not. A batch is one flat
 * MessagePack array: each element is a tag followed by its fields. Records are neither wrapped
 * in objects on the way in (BatchBuilder) nor on the way out (BatchReader): at a few hundred
 * nanoseconds per record in all, an object per record per side is a visible share.
 *
 * A record routed by key carries the key group its partitioner computed, so the keyed operator
 * behind the channel does not hash the key again.
 */
import { Packr, Unpackr } from 'msgpackr';
import { InternalError } from '../../errors.ts';
import type { StreamElement } from './stream-element.ts';

const RECORD = 0;
const WATERMARK = 1;
const BARRIER = 2;
const END = 3;
/** A record with its key group: tag, key group, value, timestamp. */
const KEYED_RECORD = 4;

// In-flight data never reaches disk, but staying with standard MessagePack keeps one value model.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
// msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run time.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });

/** Collects the elements of one batch in their flat form. */
export class BatchBuilder {
  #flat: unknown[] = [];
  #elements = 0;

  get elements(): number {
    return this.#elements;
  }

  /** `keyGroup`: the record's key group, or -1 when it was not routed by key. */
  addRecord(value: unknown, timestamp: number | null, keyGroup: number): void {
    if (keyGroup < 0) this.#flat.push(RECORD, value, timestamp);
    else this.#flat.push(KEYED_RECORD, keyGroup, value, timestamp);
    this.#elements += 1;
  }

  add(e: StreamElement): void {
    switch (e.kind) {
      case 'record':
        this.addRecord(e.value, e.timestamp, -1);
        return;
      case 'watermark':
        this.#flat.push(WATERMARK, e.timestamp);
        break;
      case 'barrier':
        this.#flat.push(BARRIER, e.barrier.checkpointId, e.barrier.savepoint);
        break;
      case 'end-of-input':
        this.#flat.push(END);
        break;
    }
    this.#elements += 1;
  }

  /** The batch as bytes (a copy the caller owns); the builder starts empty again. */
  encode(): Uint8Array {
    // A copy: msgpackr reuses its buffer, and the batch may wait in a channel.
    const bytes = new Uint8Array(packr.pack(this.#flat));
    this.#flat = [];
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

/** Reads one decoded batch element by element; a record's fields land on the reader itself. */
export class BatchReader {
  #flat: unknown[] = [];
  #position = 0;
  /** The record read last: its value, timestamp and key group (-1 if it carries none). */
  value: unknown = undefined;
  timestamp: number | null = null;
  keyGroup = -1;

  get hasNext(): boolean {
    return this.#position < this.#flat.length;
  }

  load(bytes: Uint8Array): void {
    this.#flat = unpackr.unpack(bytes) as unknown[];
    this.#position = 0;
  }

  /** The next element; READ_RECORD for a record, whose fields are then in value, timestamp, keyGroup. */
  read(): typeof READ_RECORD | Exclude<StreamElement, { kind: 'record' }> {
    const flat = this.#flat;
    const i = this.#position;
    const tag = flat[i];
    if (tag === KEYED_RECORD) {
      this.keyGroup = flat[i + 1] as number;
      this.value = flat[i + 2];
      this.timestamp = flat[i + 3] as number | null;
      this.#advance(4);
      return READ_RECORD;
    }
    if (tag === RECORD) {
      this.keyGroup = -1;
      this.value = flat[i + 1];
      this.timestamp = flat[i + 2] as number | null;
      this.#advance(3);
      return READ_RECORD;
    }
    if (tag === WATERMARK) {
      this.#advance(2);
      return { kind: 'watermark', timestamp: flat[i + 1] as number };
    }
    if (tag === BARRIER) {
      this.#advance(3);
      return { kind: 'barrier', barrier: { checkpointId: flat[i + 1] as number, savepoint: flat[i + 2] === true } };
    }
    if (tag === END) {
      this.#advance(1);
      return { kind: 'end-of-input' };
    }
    throw new InternalError(`corrupt element batch: unknown tag ${String(tag)} at ${i}`);
  }

  #advance(by: number): void {
    this.#position += by;
    if (this.#position >= this.#flat.length) {
      // Let the batch be collected while the channel waits for the next one.
      this.#flat = [];
      this.#position = 0;
    }
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
