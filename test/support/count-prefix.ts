import { expect } from 'vitest';

/**
 * Committed output of a running word count is exactly-once so far: per word (`word:count` lines),
 * the running counts 1..k with no gap and no duplicate (each word is counted and written by one
 * subtask, in order).
 */
export function expectCountPrefix(lines: readonly string[]): void {
  const counts = new Map<string, number[]>();
  for (const line of lines) {
    const [word, count] = line.split(':');
    counts.set(word!, [...(counts.get(word!) ?? []), Number(count)]);
  }
  for (const [word, seen] of counts) {
    seen.sort((a, b) => a - b);
    expect(seen, word).toEqual(seen.map((_, i) => i + 1));
  }
}
