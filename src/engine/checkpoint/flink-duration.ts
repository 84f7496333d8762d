/**
 * Flink's duration syntax for configuration values (`TimeUtils.parseDuration`): a whole number,
 * optional spaces, an optional unit; no unit means milliseconds. Units are matched ignoring case.
 * Flink also accepts no fractions and no sign, so neither do we: a config file copied from a
 * Flink deployment means the same here.
 *
 * Not checkpoint-specific (restart strategies use the same syntax); it lives here until the
 * cluster configuration code has a home for shared value parsers.
 */

/** Milliseconds per unit label, Flink's `TimeUtils.TimeUnit` labels (singular and plural). */
const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ...labels(['d'], ['day'], 86_400_000),
  ...labels(['h'], ['hour'], 3_600_000),
  ...labels(['m', 'min'], ['minute'], 60_000),
  ...labels(['s'], ['sec', 'second'], 1_000),
  ...labels(['ms'], ['milli', 'millisecond'], 1),
  ...labels(['µs'], ['micro', 'microsecond'], 0.001),
  ...labels(['ns'], ['nano', 'nanosecond'], 0.000_001),
]);

function labels(singular: readonly string[], plural: readonly string[], ms: number): [string, number][] {
  return [...singular, ...plural, ...plural.map((p) => `${p}s`)].map((label) => [label, ms]);
}

/** How to write a duration, for error messages. */
export const DURATION_SYNTAX = 'a whole number with an optional unit (ms, s, min, h, d), e.g. 500 ms, 10 s, 1 min, 2 h';

/**
 * Milliseconds, or undefined when `text` is not a duration. Sub-millisecond units are truncated
 * to whole milliseconds, as Flink's `Duration.toMillis()` does.
 */
export function parseFlinkDuration(text: string): number | undefined {
  const match = /^(\d+)\s*(\S*)$/u.exec(text.trim());
  if (match === null) return undefined;
  const [, digits = '', unit = ''] = match;
  const perUnit = unit === '' ? 1 : UNIT_MS.get(unit.toLowerCase());
  if (perUnit === undefined) return undefined;
  const ms = Math.floor(Number(digits) * perUnit);
  // Flink refuses values that overflow a 64-bit long; here precision is lost first.
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * `10 ms`, `30 s`, `10 min`, `2 h`, `1 d`: the largest unit that writes `ms` as a whole number, as
 * Flink's `TimeUtils.formatWithHighestUnit`, so a message shows a value the way a config file sets it.
 */
export function formatFlinkDuration(ms: number): string {
  for (const [unit, per] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1_000]] as const) {
    if (ms >= per && ms % per === 0) return `${ms / per} ${unit}`;
  }
  return `${ms} ms`;
}
