import { describe, expect, it } from 'vitest';
import { BatchBuilder, BatchReader, READ_RECORD, decodeBatch, encodeBatch } from './element-codec.ts';
import type { StreamElement } from './stream-element.ts';

describe('element batches', () => {
  it('round-trips every kind of element in order', () => {
    const elements: StreamElement[] = [
      { kind: 'record', value: { a: [1, 'x'] }, timestamp: 5 },
      { kind: 'watermark', timestamp: 4 },
      { kind: 'barrier', barrier: { checkpointId: 3, savepoint: true } },
      { kind: 'record', value: null, timestamp: null },
      { kind: 'end-of-input' },
    ];
    expect(decodeBatch(encodeBatch(elements))).toEqual(elements);
  });

  it('carries the key group of a record routed by key, and -1 for the others', () => {
    const builder = new BatchBuilder();
    builder.addRecord('k', 7, 93);
    builder.addRecord('j', null, -1);
    builder.add({ kind: 'watermark', timestamp: 1 });
    expect(builder.elements).toBe(3);
    const bytes = builder.encode();
    expect(builder.elements).toBe(0);
    const reader = new BatchReader();
    reader.load(bytes);
    expect(reader.read()).toBe(READ_RECORD);
    expect([reader.value, reader.timestamp, reader.keyGroup]).toEqual(['k', 7, 93]);
    expect(reader.read()).toBe(READ_RECORD);
    expect([reader.value, reader.timestamp, reader.keyGroup]).toEqual(['j', null, -1]);
    expect(reader.read()).toEqual({ kind: 'watermark', timestamp: 1 });
    expect(reader.hasNext).toBe(false);
  });
});
