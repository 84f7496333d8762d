/**
 * Plans the requests a restore makes for many blocks: blocks of one data file that lie close
 * together (a subtask's key groups are written in key-group order) are fetched as one range, so a
 * restore makes O(files) requests instead of O(blocks). Pure: the reading is range-source.ts.
 */

/** Bytes wanted from one file of the snapshot's file table. */
export interface WantedBytes {
  readonly file: number;
  readonly offset: number;
  readonly length: number;
}

export interface ReadRange {
  readonly file: number;
  readonly offset: number;
  readonly length: number;
  /** How many wanted pieces it serves: 1 means read the piece as it is (a range would buy nothing). */
  readonly pieces: number;
}

export interface ReadPlanLimits {
  /** Two pieces this close (bytes between them) share a range... */
  readonly maxGap: number;
  /** ...and so do two whose gap is at most this fraction of the merged range's length. */
  readonly maxGapFraction: number;
  /** A range of several pieces is at most this long; a longer single piece stands alone. */
  readonly maxRange: number;
}

/**
 * Off: every block is read by its own requests, as before read plans (benchmarks compare the two
 * in one run). Readers take it when they are made (SnapshotReader.coalesceReads), verify per call.
 */
export const readPlanning = { enabled: true };

export const DEFAULT_READ_LIMITS: ReadPlanLimits = { maxGap: 64 * 1024, maxGapFraction: 0.1, maxRange: 8 * 1024 * 1024 };

/**
 * A restore holds one fetched range per file it reads at once (a chain reads up to 65 files);
 * ranges shrink as files grow in number so the ranges held stay under about this much.
 */
export const RANGE_BUDGET = 64 * 1024 * 1024;
const MIN_RANGE = 1024 * 1024;

/** The limits for a plan over `files` distinct files: ranges capped so that one per file fits the budget. */
export function limitsForFiles(files: number, limits: ReadPlanLimits = DEFAULT_READ_LIMITS): ReadPlanLimits {
  const share = Math.floor(RANGE_BUDGET / Math.max(1, files));
  return { ...limits, maxRange: Math.max(Math.min(limits.maxRange, share), Math.min(limits.maxRange, MIN_RANGE)) };
}

/**
 * Ranges covering every wanted piece, by file then offset. Each piece lies inside exactly one
 * range; ranges of a file do not overlap when the pieces do not; a range of several pieces is at
 * most `maxRange` long and no gap inside it exceeds both `maxGap` and `maxGapFraction` of it.
 * Duplicate pieces count once.
 */
export function planReads(wanted: readonly WantedBytes[], limits: ReadPlanLimits = DEFAULT_READ_LIMITS): ReadRange[] {
  const sorted = [...wanted].sort((a, b) => a.file - b.file || a.offset - b.offset || a.length - b.length);
  const ranges: ReadRange[] = [];
  let current: { file: number; offset: number; end: number; pieces: number } | undefined;
  let last: WantedBytes | undefined;
  const close = (): void => {
    if (current !== undefined) ranges.push({ file: current.file, offset: current.offset, length: current.end - current.offset, pieces: current.pieces });
  };
  for (const piece of sorted) {
    if (last !== undefined && last.file === piece.file && last.offset === piece.offset && last.length === piece.length) continue;
    last = piece;
    const end = piece.offset + piece.length;
    if (current !== undefined && current.file === piece.file) {
      const merged = Math.max(current.end, end) - current.offset;
      const gap = piece.offset - current.end;
      const near = gap <= limits.maxGap || gap <= limits.maxGapFraction * merged;
      // An overlapping piece (a damaged index) joins its range whatever its size, so it is read once.
      if (gap < 0 || (near && merged <= limits.maxRange)) {
        current.end = Math.max(current.end, end);
        current.pieces += 1;
        continue;
      }
    }
    close();
    current = { file: piece.file, offset: piece.offset, end, pieces: 1 };
  }
  close();
  return ranges;
}
