import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingEventTimeWindows, TumblingEventTimeWindows, maxTimestamp, windowStart } from './window-assigners.ts';

const timestamp = fc.integer({ min: -1e13, max: 1e13 });
const mod = (a: number, b: number): number => ((a % b) + b) % b;

describe('window assignment', () => {
  it('puts every timestamp in exactly one tumbling window, aligned to the offset, end exclusive', () => {
    fc.assert(
      fc.property(timestamp, fc.integer({ min: 1, max: 1e7 }), fc.integer({ min: -1e7, max: 1e7 }), (ts, size, rawOffset) => {
        const offset = rawOffset % size; // |offset| < size
        const windows = TumblingEventTimeWindows.of(size, offset).assignWindows(ts);
        expect(windows).toHaveLength(1);
        const [w] = windows;
        expect(w!.end - w!.start).toBe(size);
        expect(w!.start <= ts && ts < w!.end).toBe(true);
        expect(maxTimestamp(w!)).toBe(w!.end - 1);
        expect(mod(w!.start - offset, size)).toBe(0);
      }),
    );
  });

  it('puts every timestamp in exactly size/slide sliding windows, each aligned to the offset', () => {
    fc.assert(
      fc.property(timestamp, fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: -1e6, max: 1e6 }), (ts, slide, factor, rawOffset) => {
        const size = slide * factor;
        const offset = rawOffset % slide;
        const windows = SlidingEventTimeWindows.of(size, slide, offset).assignWindows(ts);
        expect(windows).toHaveLength(size / slide);
        for (const w of windows) {
          expect(w.end - w.start).toBe(size);
          expect(w.start <= ts && ts < w.end).toBe(true);
          expect(mod(w.start - offset, slide)).toBe(0);
        }
        expect(new Set(windows.map((w) => w.start)).size).toBe(windows.length);
      }),
    );
  });

  it('follows Flink for slides that do not divide the size: ceil or floor of size/slide windows', () => {
    fc.assert(
      fc.property(timestamp, fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 3000 }), (ts, slide, size) => {
        const windows = SlidingEventTimeWindows.of(size, slide).assignWindows(ts);
        expect(windows.length).toBeGreaterThanOrEqual(Math.floor(size / slide));
        expect(windows.length).toBeLessThanOrEqual(Math.ceil(size / slide));
        for (const w of windows) expect(w.start <= ts && ts < w.end).toBe(true);
      }),
    );
  });

  it('computes Flink start = timestamp - (timestamp - offset + size) % size for non-negative timestamps', () => {
    expect(windowStart(1_234_567, 0, 600_000)).toBe(1_200_000);
    expect(windowStart(599_999, 0, 600_000)).toBe(0);
    expect(windowStart(600_000, 0, 600_000)).toBe(600_000);
    expect(windowStart(7, 3, 5)).toBe(3);
    expect(windowStart(-1, 0, 10)).toBe(-10); // before the epoch, still the window that holds it
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e13 }), fc.integer({ min: 1, max: 1e7 }), (ts, size) => {
        expect(windowStart(ts, 0, size)).toBe(ts - ((ts + size) % size));
      }),
    );
  });

  it('refuses parameters Flink refuses', () => {
    expect(() => TumblingEventTimeWindows.of(0)).toThrow(/size > 0/);
    expect(() => TumblingEventTimeWindows.of(10, 10)).toThrow(/abs\(offset\) < size/);
    expect(() => SlidingEventTimeWindows.of(10, 5, 5)).toThrow(/abs\(offset\) < slide/);
    expect(() => SlidingEventTimeWindows.of(10, 0)).toThrow(/slide > 0/);
    expect(() => TumblingEventTimeWindows.of(1.5)).toThrow(/whole number/);
  });
});
