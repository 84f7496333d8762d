/**
 * The numbers behind a line chart: a series' points mapped into a plot area, and round tick
 * values for its axis. Pure, tested beside.
 */
export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Area {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Ticks at 1, 2 or 5 times a power of ten of `unit`, from 0 to at least `max`: with `unit` 1024
 * for sizes, 48 KiB rather than 49,152 B ticks as 10, 20, 30 and 40 KiB.
 */
export function niceTicks(max: number, count = 4, unit = 1): number[] {
  if (!(max > 0)) return [0, unit];
  if (unit !== 1) return niceTicks(max / unit, count).map((t) => t * unit);
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(v);
  return ticks;
}

/** Every series on one y scale from 0; x spans the points' range (a single point sits in the middle). */
export function scaleSeries(series: readonly (readonly Point[])[], area: Area, unitOf: (max: number) => number = () => 1): { series: Point[][]; ticks: { value: number; y: number }[]; xMin: number; xMax: number } {
  const all = series.flat();
  const xs = all.map((p) => p.x);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMaxSeen = Math.max(0, ...all.map((p) => p.y));
  const ticks = niceTicks(yMaxSeen, 4, unitOf(yMaxSeen));
  const yMax = ticks[ticks.length - 1] ?? 1;
  const sx = (x: number): number => (xMax === xMin ? area.left + area.width / 2 : area.left + ((x - xMin) / (xMax - xMin)) * area.width);
  const sy = (y: number): number => area.top + area.height - (y / yMax) * area.height;
  return {
    series: series.map((points) => [...points].sort((a, b) => a.x - b.x).map((p) => ({ x: sx(p.x), y: sy(p.y) }))),
    ticks: ticks.map((value) => ({ value, y: sy(value) })),
    xMin: all.length === 0 ? 0 : xMin,
    xMax: all.length === 0 ? 0 : xMax,
  };
}

/** The power of 1024 that a size of `max` bytes is written in (B, KiB, MiB, ...). */
export function bytesUnit(max: number): number {
  let unit = 1;
  while (max / unit >= 1024 && unit < 1024 ** 4) unit *= 1024;
  return unit;
}
