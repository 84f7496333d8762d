import { describe, expect, it } from 'vitest';
import { AligningBarrierHandler, TrackingBarrierHandler } from './barrier-handler.ts';

const b = (checkpointId: number) => ({ checkpointId, savepoint: false });

describe('AligningBarrierHandler (exactly-once)', () => {
  it('blocks each channel after its barrier until all three delivered it', () => {
    const h = new AligningBarrierHandler(3);
    expect(h.onBarrier(1, b(1))).toEqual([]);
    expect([h.isBlocked(0), h.isBlocked(1), h.isBlocked(2)]).toEqual([false, true, false]);
    expect(h.onBarrier(0, b(1))).toEqual([]);
    expect([h.isBlocked(0), h.isBlocked(1), h.isBlocked(2)]).toEqual([true, true, false]);
    expect(h.onBarrier(2, b(1))).toEqual([{ kind: 'checkpoint', barrier: b(1) }]);
    expect([h.isBlocked(0), h.isBlocked(1), h.isBlocked(2)]).toEqual([false, false, false]);
  });

  it('aborts a checkpoint overtaken by a newer barrier and ignores its late barriers', () => {
    const h = new AligningBarrierHandler(2);
    h.onBarrier(0, b(1));
    expect(h.onBarrier(1, b(2))).toEqual([{ kind: 'abort', checkpointId: 1, cause: 'overtaken' }]);
    expect([h.isBlocked(0), h.isBlocked(1)]).toEqual([false, true]);
    expect(h.onBarrier(0, b(1))).toEqual([]);
    expect(h.onBarrier(0, b(2))).toEqual([{ kind: 'checkpoint', barrier: b(2) }]);
  });

  it('counts an ended channel as aligned', () => {
    const h = new AligningBarrierHandler(2);
    h.onBarrier(0, b(3));
    expect(h.onEndOfInput(1)).toEqual([{ kind: 'checkpoint', barrier: b(3) }]);
    expect(h.onBarrier(0, b(4))).toEqual([{ kind: 'checkpoint', barrier: b(4) }]);
  });

  it('snapshots at once with a single input', () => {
    expect(new AligningBarrierHandler(1).onBarrier(0, b(1))).toEqual([{ kind: 'checkpoint', barrier: b(1) }]);
  });

  it('a cancel marker releases the alignment of its checkpoint, once, and its late barriers block nothing', () => {
    const h = new AligningBarrierHandler(3);
    h.onBarrier(0, b(1));
    h.onBarrier(2, b(1));
    expect(h.onCancelBarrier(1, 1)).toEqual([{ kind: 'abort', checkpointId: 1, cause: 'cancelled' }]);
    expect([h.isBlocked(0), h.isBlocked(1), h.isBlocked(2)]).toEqual([false, false, false]);
    expect(h.onCancelBarrier(0, 1)).toEqual([]);
    expect(h.onBarrier(1, b(1))).toEqual([]);
    expect(h.isBlocked(1)).toBe(false);
    // The next checkpoint aligns as usual.
    h.onBarrier(0, b(2));
    h.onBarrier(1, b(2));
    expect(h.onBarrier(2, b(2))).toEqual([{ kind: 'checkpoint', barrier: b(2) }]);
  });

  it('a cancel marker that comes first: the other channels’ barriers of that checkpoint are not waited for', () => {
    const h = new AligningBarrierHandler(2);
    expect(h.onCancelBarrier(1, 4)).toEqual([{ kind: 'abort', checkpointId: 4, cause: 'cancelled' }]);
    expect(h.onBarrier(0, b(4))).toEqual([]);
    expect([h.isBlocked(0), h.isBlocked(1)]).toEqual([false, false]);
  });

  it('a cancel marker for a newer checkpoint ends the older alignment too (in band, its channel passed the older barrier)', () => {
    const h = new AligningBarrierHandler(2);
    h.onBarrier(0, b(1));
    expect(h.onCancelBarrier(1, 2)).toEqual([
      { kind: 'abort', checkpointId: 1, cause: 'overtaken' },
      { kind: 'abort', checkpointId: 2, cause: 'cancelled' },
    ]);
    expect([h.isBlocked(0), h.isBlocked(1)]).toEqual([false, false]);
    expect(h.onBarrier(0, b(1))).toEqual([]);
    expect(h.onCancelBarrier(0, 1)).toEqual([]);
  });
});

describe('TrackingBarrierHandler (at-least-once)', () => {
  it('never blocks and snapshots when the last barrier arrives', () => {
    const h = new TrackingBarrierHandler(3);
    expect(h.onBarrier(0, b(1))).toEqual([]);
    expect(h.isBlocked(0)).toBe(false);
    expect(h.onBarrier(2, b(1))).toEqual([]);
    expect(h.onBarrier(1, b(1))).toEqual([{ kind: 'checkpoint', barrier: b(1) }]);
  });

  it('aborts older incomplete checkpoints when a newer one completes', () => {
    const h = new TrackingBarrierHandler(2);
    h.onBarrier(0, b(1));
    h.onBarrier(0, b(2));
    expect(h.onBarrier(1, b(2))).toEqual([
      { kind: 'abort', checkpointId: 1, cause: 'overtaken' },
      { kind: 'checkpoint', barrier: b(2) },
    ]);
    expect(h.onBarrier(1, b(1))).toEqual([]);
  });

  it('a cancel marker gives up its checkpoint, once, and only it: an older one still completes', () => {
    const h = new TrackingBarrierHandler(3);
    h.onBarrier(0, b(1));
    h.onBarrier(1, b(1));
    expect(h.onCancelBarrier(1, 2)).toEqual([{ kind: 'abort', checkpointId: 2, cause: 'cancelled' }]);
    expect(h.onBarrier(2, b(1))).toEqual([{ kind: 'checkpoint', barrier: b(1) }]);
    expect(h.onBarrier(0, b(2))).toEqual([]);
    expect(h.onBarrier(2, b(2))).toEqual([]);
    for (const c of [0, 1]) h.onBarrier(c, b(3));
    expect(h.onBarrier(2, b(3))).toEqual([{ kind: 'checkpoint', barrier: b(3) }]);
  });

  it('a cancelled checkpoint never completes, even once every channel has passed it or ended', () => {
    const h = new TrackingBarrierHandler(3);
    expect(h.onCancelBarrier(2, 5)).toEqual([{ kind: 'abort', checkpointId: 5, cause: 'cancelled' }]);
    expect(h.onBarrier(0, b(5))).toEqual([]);
    expect(h.onEndOfInput(1)).toEqual([]);
    expect(h.onBarrier(0, b(6))).toEqual([]);
    expect(h.onBarrier(2, b(6))).toEqual([{ kind: 'checkpoint', barrier: b(6) }]);
  });
});
