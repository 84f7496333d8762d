import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesUnit, niceTicks, scaleSeries } from './chart-scale.ts';

describe('chart scale', () => {
  it('picks round ticks from 0 past the maximum', () => {
    expect(niceTicks(147)).toEqual([0, 50, 100, 150]);
    expect(niceTicks(84_408, 4, bytesUnit(84_408))).toEqual([0, 50 * 1024, 100 * 1024]);
    expect(niceTicks(3 * 1024 ** 2, 4, bytesUnit(3 * 1024 ** 2))).toEqual([0, 1024 ** 2, 2 * 1024 ** 2, 3 * 1024 ** 2]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('covers any maximum with evenly spaced ticks', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e12, noNaN: true }), (max) => {
        const ticks = niceTicks(max);
        expect(ticks[0]).toBe(0);
        expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(max);
        expect(ticks.length).toBeLessThanOrEqual(7);
        const step = ticks[1]! - ticks[0]!;
        ticks.forEach((t, i) => expect(t).toBeCloseTo(i * step, 6));
      }),
    );
  });

  it('maps points into the area, time left to right, larger values higher', () => {
    const area = { left: 10, top: 0, width: 100, height: 50 };
    const { series, ticks } = scaleSeries([[{ x: 2000, y: 30 }, { x: 1000, y: 0 }, { x: 3000, y: 60 }]], area);
    expect(series[0]).toEqual([
      { x: 10, y: 50 },
      { x: 60, y: 25 },
      { x: 110, y: 0 },
    ]);
    expect(ticks.map((t) => t.value)).toEqual([0, 20, 40, 60]);
    const single = scaleSeries([[{ x: 5, y: 1 }]], area);
    expect(single.series[0]![0]!.x).toBe(60);
  });
});
