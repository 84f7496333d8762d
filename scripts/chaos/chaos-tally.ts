/**
 * What the chaos suite reports for one sink: its committed lines against a failure-free run's,
 * as multisets. An extra copy of a line counts as re-emitted, not duplicated, only where a
 * fallback past a damaged checkpoint explains it: the line was already committed when the damage
 * was found (the windows between the two checkpoints fire again), and at most one extra copy per
 * such fallback. Every other extra copy is a duplicate.
 */
export interface ChaosTally {
  readonly lines: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly mismatched: number;
  readonly reemitted: number;
  readonly examples: readonly string[];
}

export function chaosTally(got: readonly string[], want: readonly string[], committedAtFallbacks: readonly (readonly string[])[]): ChaosTally {
  const count = (lines: readonly string[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
    return counts;
  };
  const wanted = count(want);
  const seen = count(got);
  const atFallbacks = committedAtFallbacks.map((lines) => new Set(lines));
  let lost = 0;
  let duplicated = 0;
  let mismatched = 0;
  let reemitted = 0;
  const examples: string[] = [];
  for (const [line, n] of wanted) {
    const have = seen.get(line) ?? 0;
    if (have < n) {
      lost += n - have;
      if (examples.length < 5) examples.push(`lost: ${line}`);
    } else if (have > n) {
      const explained = Math.min(have - n, atFallbacks.filter((s) => s.has(line)).length);
      reemitted += explained;
      duplicated += have - n - explained;
      if (have - n > explained && examples.length < 5) examples.push(`duplicated x${have - n - explained}: ${line}`);
    }
  }
  for (const [line, n] of seen) {
    if (wanted.has(line)) continue;
    mismatched += n;
    if (examples.length < 5) examples.push(`not in the failure-free run: ${line}`);
  }
  return { lines: got.length, lost, duplicated, mismatched, reemitted, examples };
}
