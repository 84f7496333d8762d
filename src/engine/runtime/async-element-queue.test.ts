import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AsyncElementQueue, OrderedElementQueue, type QueueEntry, UnorderedElementQueue } from './async-element-queue.ts';

/** A script: add a record (r) or a watermark (w), complete the k-th pending record (c), or poll everything due (p). */
type Step = { op: 'r' } | { op: 'w' } | { op: 'c'; k: number } | { op: 'p' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant<Step>({ op: 'r' }), weight: 4 },
  { arbitrary: fc.constant<Step>({ op: 'w' }), weight: 1 },
  { arbitrary: fc.nat(50).map<Step>((k) => ({ op: 'c', k })), weight: 4 },
  { arbitrary: fc.constant<Step>({ op: 'p' }), weight: 2 },
);

/** Runs the script, then completes and polls everything; returns the seqs in emission order. */
function run(queue: AsyncElementQueue, steps: readonly Step[]): { emitted: QueueEntry[]; added: QueueEntry[]; snapshots: [QueueEntry[], QueueEntry[]][] } {
  const added: QueueEntry[] = [];
  const emitted: QueueEntry[] = [];
  const snapshots: [QueueEntry[], QueueEntry[]][] = [];
  const pending: QueueEntry[] = [];
  const poll = (): void => {
    for (let e = queue.poll(); e !== undefined; e = queue.poll()) emitted.push(e);
  };
  for (const s of steps) {
    if (s.op === 'r' || s.op === 'w') {
      const entry: QueueEntry = { element: s.op === 'r' ? { kind: 'record', value: added.length, timestamp: null } : { kind: 'watermark', timestamp: added.length }, seq: added.length, done: s.op === 'w', results: [] };
      added.push(entry);
      queue.add(entry);
      if (s.op === 'r') pending.push(entry);
    } else if (s.op === 'c' && pending.length > 0) {
      const [entry] = pending.splice(s.k % pending.length, 1);
      entry!.done = true;
      queue.completed(entry!);
    } else if (s.op === 'p') {
      poll();
      // What a snapshot would keep: every element not emitted, in arrival order.
      snapshots.push([queue.values(), added.filter((e) => !emitted.includes(e))]);
    }
  }
  for (const entry of pending) {
    entry.done = true;
    queue.completed(entry);
  }
  poll();
  return { emitted, added, snapshots };
}

describe('async element queues', () => {
  it('ordered: emits exactly the input order', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const { emitted, added, snapshots } = run(new OrderedElementQueue(), steps);
        expect(emitted.map((e) => e.seq)).toEqual(added.map((e) => e.seq));
        for (const [kept, expected] of snapshots) expect(kept).toEqual(expected);
      }),
    );
  });

  it('unordered: emits everything once and never moves a record across a watermark; a snapshot keeps what is left in arrival order', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const { emitted, added, snapshots } = run(new UnorderedElementQueue(), steps);
        expect(emitted.map((e) => e.seq).sort((a, b) => a - b)).toEqual(added.map((e) => e.seq));
        // The watermarks before an element in the input are exactly those before it in the output.
        const watermarksBefore = (list: readonly QueueEntry[], e: QueueEntry): number[] => list.slice(0, list.indexOf(e)).filter((x) => x.element.kind === 'watermark').map((x) => x.seq);
        for (const e of added) expect(watermarksBefore(emitted, e)).toEqual(watermarksBefore(added, e));
        for (const [kept, expected] of snapshots) expect(kept).toEqual(expected);
      }),
    );
  });

  it('unordered: a record completed later than another of its segment goes later', () => {
    const queue = new UnorderedElementQueue();
    const entries = [0, 1, 2].map((seq): QueueEntry => ({ element: { kind: 'record', value: seq, timestamp: null }, seq, done: false, results: [] }));
    for (const e of entries) queue.add(e);
    for (const i of [2, 0, 1]) {
      entries[i]!.done = true;
      queue.completed(entries[i]!);
    }
    expect([queue.poll(), queue.poll(), queue.poll(), queue.poll()].map((e) => e?.seq)).toEqual([2, 0, 1, undefined]);
  });
});
