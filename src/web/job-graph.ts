/** The job graph as an SVG picture: one box per vertex (a chain of operators), edges labelled with their ship strategy. */
import type { JobDetails, JobPlanInfo } from '../engine/cluster/cluster-api.ts';
import { svg } from './dom.ts';
import { formatCount } from './format.ts';
import { LINE_HEIGHT, layoutGraph } from './graph-layout.ts';

const MAX_CHARS = 38;

function clip(text: string): string {
  return text.length <= MAX_CHARS ? text : `${text.slice(0, MAX_CHARS - 1)}…`;
}

export function jobGraph(plan: JobPlanInfo, job: JobDetails): SVGSVGElement {
  const vertices = new Map(job.vertices.map((v) => [v.id, v]));
  const boxes = plan.plan.nodes.map((node) => {
    const vertex = vertices.get(node.id);
    const operators = node.description.split(' -> ').map(clip);
    const lines = [
      ...operators,
      `Parallelism: ${node.parallelism}`,
      `Records in: ${vertex === undefined ? '-' : formatCount(vertex.metrics['read-records'])}  out: ${vertex === undefined ? '-' : formatCount(vertex.metrics['write-records'])}`,
    ];
    return { node, vertex, operators, lines };
  });
  const layout = layoutGraph(boxes.map((b) => ({ id: b.node.id, lines: b.lines.length, inputs: (b.node.inputs ?? []).map((i) => ({ id: i.id, label: i.ship_strategy })) })));
  const picture = svg('svg', {
    class: 'job-graph',
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'img',
    'aria-label': `Job graph of ${plan.plan.name}`,
  });
  picture.appendChild(
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }))),
  );
  for (const edge of layout.edges) {
    picture.appendChild(svg('g', { class: 'edge' }, svg('path', { d: edge.path, 'marker-end': 'url(#arrow)' }), svg('text', { x: edge.labelX, y: edge.labelY, 'text-anchor': 'middle' }, edge.label)));
  }
  const placed = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const box of boxes) {
    const at = placed.get(box.node.id);
    if (at === undefined) continue;
    const state = (box.vertex?.status ?? 'CREATED').toLowerCase().replace(/[^a-z_]/g, '');
    const group = svg('g', { class: `vertex state-${state}`, 'data-vertex-id': box.node.id }, svg('title', {}, `${box.node.description} (${box.vertex?.status ?? 'unknown'})`));
    group.appendChild(svg('rect', { x: at.x, y: at.y, width: at.width, height: at.height, rx: 6 }));
    box.lines.forEach((line, i) => {
      const kind = i < box.operators.length ? 'operator' : 'metric';
      group.appendChild(svg('text', { x: at.x + 10, y: at.y + 10 + LINE_HEIGHT * (i + 1) - 4, class: kind }, line));
    });
    picture.appendChild(group);
  }
  return picture;
}
