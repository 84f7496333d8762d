import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataGeneratorSource } from './data-generator-source.ts';

/** The generator as first written: a fresh mulberry32 closure per record. */
function referenceRandom(seed: number, index: number): () => number {
  let a = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A record drawing a varying number of random numbers, so a reseed that was missed would show. */
function generate(index: number, random: () => number): number[] {
  const out = [index];
  for (let k = 0; k < index % 4; k++) out.push(random());
  return out;
}

/** A reader of every split of `source`, at parallelism 1. */
function openReader(source: DataGeneratorSource<number>): ReturnType<typeof source.createReader> {
  const reader = source.createReader({ parallelism: 1 });
  reader.addSplits(source.createSplits());
  return reader;
}

describe('DataGeneratorSource', () => {
  it('record i is generate(i, mulberry32(seed ^ imul(i + 1, 0x9e3779b1))) in split round-robin order, across polls and a restore', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.integer(),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 20 }),
        async (count, seed, splits, max, restoreAfterPolls) => {
          const source = new DataGeneratorSource({ count, seed, splits, generate, timestampOf: (v) => v[0]! * 10 });
          const collect = async (reader: ReturnType<typeof source.createReader>, polls: number): Promise<{ got: number[][]; done: boolean }> => {
            const got: number[][] = [];
            for (let p = 0; p < polls; p++) {
              const { records, done } = await reader.poll(max);
              for (const r of records) {
                expect(r.timestamp).toBe(r.value[0]! * 10);
                got.push(r.value);
              }
              if (done) return { got, done };
            }
            return { got, done: false };
          };
          const first = source.createReader({ parallelism: 1 });
          first.addSplits(source.createSplits());
          const before = await collect(first, restoreAfterPolls);
          const restored = source.createReader({ parallelism: 1 });
          restored.addSplits(first.snapshotSplits());
          const after = before.done ? { got: [] } : await collect(restored, Number.MAX_SAFE_INTEGER);

          const all = [...before.got, ...after.got];
          expect(all.length).toBe(count);
          // Each record is exactly what the reference generator gives for its index.
          for (const value of all) expect(value).toEqual(generate(value[0]!, referenceRandom(seed, value[0]!)));
          expect(new Set(all.map((v) => v[0])).size).toBe(count);
          // Round-robin over splits from the start (a restore starts a new round at the first split).
          const order = (records: readonly number[][]): number[] => records.map((v) => v[0]!);
          const roundRobin = (from: readonly number[]): number[] => {
            const next = [...from];
            const out: number[] = [];
            for (let i = 0, tries = 0; tries < splits; i = (i + 1) % splits) {
              if (next[i]! >= count) {
                tries += 1;
                continue;
              }
              tries = 0;
              out.push(next[i]!);
              next[i]! += splits;
            }
            return out;
          };
          const firstOrder = roundRobin(Array.from({ length: splits }, (_, i) => i));
          expect(order(before.got)).toEqual(firstOrder.slice(0, before.got.length));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('endWhen holds a bounded source open after its last record, with the same records and positions, until it is released', async () => {
    let released = false;
    const plain = new DataGeneratorSource({ count: 10, seed: 1, splits: 3, generate: (i) => i });
    const held = new DataGeneratorSource({ count: 10, seed: 1, splits: 3, generate: (i) => i, endWhen: () => released });
    const a = openReader(plain);
    const b = openReader(held);
    const first = { plain: await a.poll(4), held: await b.poll(4) };
    expect(first.held).toEqual(first.plain);
    expect(b.snapshotSplits()).toEqual(a.snapshotSplits());
    const last = { plain: await a.poll(100), held: await b.poll(100) };
    expect(last.plain.done).toBe(true);
    // Every record is out, yet the held source has not ended; its positions are the plain one's.
    expect(last.held).toEqual({ records: last.plain.records, done: false });
    for (let i = 0; i < 3; i++) expect(await b.poll(100)).toEqual({ records: [], done: false });
    expect(b.snapshotSplits()).toEqual(a.snapshotSplits());
    released = true;
    expect(await b.poll(100)).toEqual({ records: [], done: true });
    // A restore from the held source's positions ends at once once released, with nothing replayed.
    const restored = held.createReader({ parallelism: 1 });
    restored.addSplits(b.snapshotSplits());
    expect(await restored.poll(100)).toEqual({ records: [], done: true });
  });

  it('unthrottledWhen lifts recordsPerSecond once it returns true, with the same records and positions as an unlimited source', async () => {
    let released = false;
    // 4 records per second: the first poll, at the start of the rate's clock, may emit none.
    const throttled = new DataGeneratorSource({ count: 1_000, seed: 1, splits: 3, recordsPerSecond: 4, generate: (i) => i, unthrottledWhen: () => released });
    const plain = new DataGeneratorSource({ count: 1_000, seed: 1, splits: 3, generate: (i) => i });
    const t = openReader(throttled);
    const p = openReader(plain);
    expect(await t.poll(100)).toEqual({ records: [], done: false });
    released = true;
    const rest = await t.poll(1_000);
    expect(rest).toEqual(await p.poll(1_000));
    expect(rest.records).toHaveLength(1_000);
    expect(rest.done).toBe(true);
    expect(t.snapshotSplits()).toEqual(p.snapshotSplits());
  });

  it('refuses unthrottledWhen without recordsPerSecond, which it would lift', () => {
    expect(() => new DataGeneratorSource({ count: 10, generate: (i) => i, unthrottledWhen: () => true })).toThrow('data generator: unthrottledWhen lifts recordsPerSecond, and none is set: leave unthrottledWhen out');
  });

  it('refuses endWhen on an unbounded source, which never ends anyway', () => {
    expect(() => new DataGeneratorSource({ generate: (i) => i, endWhen: () => true })).toThrow('data generator: endWhen holds a bounded source open; an unbounded one (no count) never ends anyway');
  });
});
