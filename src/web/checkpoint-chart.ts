/** A line chart over checkpoint history as SVG: one y axis from 0, time along x, a circle per checkpoint. */
import { svg } from './dom.ts';
import { scaleSeries } from './chart-scale.ts';
import type { Point } from './chart-scale.ts';
import { formatTime } from './format.ts';

export interface ChartSeries {
  readonly name: string;
  /** CSS class of its line and points. */
  readonly kind: string;
  readonly points: readonly (Point & { readonly label: string })[];
}

const WIDTH = 560;
const HEIGHT = 220;
const AREA = { left: 80, top: 16, width: WIDTH - 100, height: HEIGHT - 60 };

export function lineChart(title: string, series: readonly ChartSeries[], formatY: (v: number) => string, unitOf?: (max: number) => number): SVGSVGElement {
  const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: 'img', 'aria-label': title });
  const scaled = scaleSeries(
    series.map((s) => s.points),
    AREA,
    unitOf,
  );
  for (const tick of scaled.ticks) {
    chart.appendChild(svg('line', { class: 'grid', x1: AREA.left, x2: AREA.left + AREA.width, y1: tick.y, y2: tick.y }));
    chart.appendChild(svg('text', { class: 'tick', x: AREA.left - 6, y: tick.y + 4, 'text-anchor': 'end' }, formatY(tick.value)));
  }
  const bottom = AREA.top + AREA.height + 16;
  chart.appendChild(svg('text', { class: 'tick', x: AREA.left, y: bottom, 'text-anchor': 'start' }, formatTime(scaled.xMin).slice(11)));
  chart.appendChild(svg('text', { class: 'tick', x: AREA.left + AREA.width, y: bottom, 'text-anchor': 'end' }, formatTime(scaled.xMax).slice(11)));
  series.forEach((s, i) => {
    const points = scaled.series[i] ?? [];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    chart.appendChild(svg('polyline', { class: `line ${s.kind}`, points: points.map((p) => `${p.x},${p.y}`).join(' ') }));
    points.forEach((p, j) => {
      chart.appendChild(svg('circle', { class: `point ${s.kind}`, cx: p.x, cy: p.y, r: 3.5 }, svg('title', {}, `${s.name}: ${sorted[j]?.label ?? ''}`)));
    });
    const legendX = AREA.left + i * 180;
    chart.appendChild(svg('rect', { class: `legend ${s.kind}`, x: legendX, y: HEIGHT - 18, width: 12, height: 12 }));
    chart.appendChild(svg('text', { class: 'legend-text', x: legendX + 18, y: HEIGHT - 8 }, s.name));
  });
  return chart;
}
