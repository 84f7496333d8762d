import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_READ_LIMITS, RANGE_BUDGET, type ReadPlanLimits, type WantedBytes, limitsForFiles, planReads } from './read-plan.ts';

/** Pieces that do not overlap, as a data file's blocks: per file, gaps and lengths laid end to end. */
const piecesArb = fc
  .array(fc.tuple(fc.nat({ max: 3 }), fc.array(fc.tuple(fc.nat({ max: 200_000 }), fc.integer({ min: 1, max: 3_000_000 })), { maxLength: 30 })), { maxLength: 4 })
  .map((files) => {
    const pieces: WantedBytes[] = [];
    const seen = new Set<number>();
    for (const [file, layout] of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      let at = 0;
      for (const [gap, length] of layout) {
        pieces.push({ file, offset: at + gap, length });
        at += gap + length;
      }
    }
    return pieces;
  });

const limitsArb: fc.Arbitrary<ReadPlanLimits> = fc.record({
  maxGap: fc.nat({ max: 128 * 1024 }),
  maxGapFraction: fc.double({ min: 0, max: 0.5, noNaN: true }),
  maxRange: fc.integer({ min: 1, max: 16 * 1024 * 1024 }),
});

describe('planReads', () => {
  it('covers every wanted byte exactly once, with bounded gaps and capped ranges', () => {
    fc.assert(
      fc.property(piecesArb, limitsArb, fc.boolean(), (pieces, limits, shuffle) => {
        const wanted = shuffle ? [...pieces].reverse() : pieces;
        const ranges = planReads(wanted, limits);
        // Each piece lies inside exactly one range of its file.
        for (const p of pieces) {
          const holding = ranges.filter((r) => r.file === p.file && r.offset <= p.offset && p.offset + p.length <= r.offset + r.length);
          expect(holding).toHaveLength(1);
        }
        // Ranges of a file are disjoint, begin and end on wanted bytes, and count their pieces.
        for (const r of ranges) {
          const inside = pieces.filter((p) => p.file === r.file && p.offset >= r.offset && p.offset + p.length <= r.offset + r.length);
          expect(inside.length).toBe(r.pieces);
          expect(inside.some((p) => p.offset === r.offset)).toBe(true);
          expect(inside.some((p) => p.offset + p.length === r.offset + r.length)).toBe(true);
          if (r.pieces > 1) expect(r.length).toBeLessThanOrEqual(limits.maxRange);
          // No gap between consecutive pieces exceeds both bounds.
          const sorted = inside.sort((a, b) => a.offset - b.offset);
          for (let i = 1; i < sorted.length; i++) {
            const gap = sorted[i]!.offset - (sorted[i - 1]!.offset + sorted[i - 1]!.length);
            expect(gap <= limits.maxGap || gap <= limits.maxGapFraction * r.length).toBe(true);
          }
        }
        const byFile = new Map<number, typeof ranges>();
        for (const r of ranges) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
        for (const list of byFile.values()) {
          for (let i = 1; i < list.length; i++) expect(list[i]!.offset).toBeGreaterThanOrEqual(list[i - 1]!.offset + list[i - 1]!.length);
        }
        expect(ranges.reduce((n, r) => n + r.pieces, 0)).toBe(pieces.length);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('reads a file whose blocks lie end to end in one range per cap', () => {
    const blocks = Array.from({ length: 128 }, (_, i) => ({ file: 0, offset: 16 + i * 1000, length: 1000 }));
    expect(planReads([{ file: 0, offset: 0, length: 16 }, ...blocks])).toEqual([{ file: 0, offset: 0, length: 128_016, pieces: 129 }]);
    const big = Array.from({ length: 10 }, (_, i) => ({ file: 1, offset: i * 3 * 1024 * 1024, length: 3 * 1024 * 1024 }));
    expect(planReads(big).map((r) => r.pieces)).toEqual([2, 2, 2, 2, 2]);
  });

  it('keeps one held range per file within the budget', () => {
    expect(limitsForFiles(1).maxRange).toBe(DEFAULT_READ_LIMITS.maxRange);
    expect(limitsForFiles(16).maxRange * 16).toBeLessThanOrEqual(RANGE_BUDGET);
    expect(limitsForFiles(65).maxRange).toBe(1024 * 1024);
  });
});
