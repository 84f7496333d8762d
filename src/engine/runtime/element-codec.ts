/**
 * Batches of stream elements as bytes. Everything that crosses a subtask boundary goes through
 * here, so the same pipeline runs whether subtasks share a process or not. Each element is a
 * small array with a tag first; records carry the user's value as MessagePack.
 */
import { Packr, Unpackr } from 'msgpackr';
import { InternalError } from '../../errors.ts';
import type { StreamElement } from './stream-element.ts';

const RECORD = 0;
const WATERMARK = 1;
const BARRIER = 2;
const END = 3;

// In-flight data never reaches disk, but staying with standard MessagePack keeps one value model.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
// msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run time.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });

export function encodeBatch(elements: readonly StreamElement[]): Uint8Array {
  const flat: unknown[] = [];
  for (const e of elements) {
    switch (e.kind) {
      case 'record':
        flat.push(RECORD, e.value, e.timestamp);
        break;
      case 'watermark':
        flat.push(WATERMARK, e.timestamp);
        break;
      case 'barrier':
        flat.push(BARRIER, e.barrier.checkpointId, e.barrier.savepoint);
        break;
      case 'end-of-input':
        flat.push(END);
        break;
    }
  }
  // A copy: msgpackr reuses its buffer, and the batch may wait in a channel.
  return Uint8Array.from(packr.pack(flat));
}

export function decodeBatch(bytes: Uint8Array): StreamElement[] {
  const flat = unpackr.unpack(bytes) as unknown[];
  const out: StreamElement[] = [];
  for (let i = 0; i < flat.length; ) {
    const tag = flat[i];
    if (tag === RECORD) {
      out.push({ kind: 'record', value: flat[i + 1], timestamp: flat[i + 2] as number | null });
      i += 3;
    } else if (tag === WATERMARK) {
      out.push({ kind: 'watermark', timestamp: flat[i + 1] as number });
      i += 2;
    } else if (tag === BARRIER) {
      out.push({ kind: 'barrier', barrier: { checkpointId: flat[i + 1] as number, savepoint: flat[i + 2] === true } });
      i += 3;
    } else if (tag === END) {
      out.push({ kind: 'end-of-input' });
      i += 1;
    } else {
      throw new InternalError(`corrupt element batch: unknown tag ${String(tag)} at ${i}`);
    }
  }
  return out;
}
