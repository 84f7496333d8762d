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
    expect(h.onBarrier(1, b(2))).toEqual([{ kind: 'abort', checkpointId: 1 }]);
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
      { kind: 'abort', checkpointId: 1 },
      { kind: 'checkpoint', barrier: b(2) },
    ]);
    expect(h.onBarrier(1, b(1))).toEqual([]);
  });
});
