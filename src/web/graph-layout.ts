/**
 * Where each vertex of a job graph goes in a left-to-right picture: a vertex's column is the
 * longest path from a source to it, so every edge points rightwards; vertices of a column are
 * stacked in the plan's order. Pure, so the geometry is tested without a browser.
 */
export interface GraphNode {
  readonly id: string;
  /** Lines of text in the box. */
  readonly lines: number;
  readonly inputs: readonly { readonly id: string; readonly label: string }[];
}

export interface PlacedNode {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  /** SVG path data of a curve from the source's right side to the target's left side. */
  readonly path: string;
  readonly labelX: number;
  readonly labelY: number;
}

export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
}

export const NODE_WIDTH = 300;
export const LINE_HEIGHT = 17;
const PADDING = 10;
const COLUMN_GAP = 90;
const ROW_GAP = 30;
const MARGIN = 20;

export function layoutGraph(nodes: readonly GraphNode[]): GraphLayout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const columnOf = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    // An input that is not in the plan, or a cycle (a job graph has none), starts a column of its own.
    if (node === undefined || visiting.has(id)) return 0;
    visiting.add(id);
    const c = node.inputs.reduce((max, input) => (byId.has(input.id) ? Math.max(max, columnOf(input.id) + 1) : max), 0);
    visiting.delete(id);
    column.set(id, c);
    return c;
  };
  const columns: PlacedNode[][] = [];
  const heightOf = (n: GraphNode): number => n.lines * LINE_HEIGHT + 2 * PADDING;
  for (const node of nodes) {
    const c = columnOf(node.id);
    (columns[c] ??= []).push({ id: node.id, x: 0, y: 0, width: NODE_WIDTH, height: heightOf(node) });
  }
  const columnHeight = (col: readonly PlacedNode[]): number => col.reduce((sum, n) => sum + n.height, 0) + ROW_GAP * Math.max(0, col.length - 1);
  const height = Math.max(0, ...columns.map((col) => columnHeight(col ?? []))) + 2 * MARGIN;
  const placed = new Map<string, PlacedNode>();
  columns.forEach((col, c) => {
    // Each column is centred vertically, so a chain of single vertices draws as a straight line.
    let y = (height - columnHeight(col)) / 2;
    for (const n of col) {
      const p = { ...n, x: MARGIN + c * (NODE_WIDTH + COLUMN_GAP), y };
      placed.set(n.id, p);
      y += n.height + ROW_GAP;
    }
  });
  const edges: PlacedEdge[] = [];
  for (const node of nodes) {
    const to = placed.get(node.id);
    for (const input of node.inputs) {
      const from = placed.get(input.id);
      if (from === undefined || to === undefined) continue;
      const x1 = from.x + from.width;
      const y1 = from.y + from.height / 2;
      const x2 = to.x;
      const y2 = to.y + to.height / 2;
      const bend = Math.max(30, (x2 - x1) / 2);
      edges.push({
        from: input.id,
        to: node.id,
        label: input.label,
        path: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`,
        labelX: (x1 + x2) / 2,
        labelY: (y1 + y2) / 2 - 6,
      });
    }
  }
  const width = MARGIN * 2 + Math.max(1, columns.length) * NODE_WIDTH + Math.max(0, columns.length - 1) * COLUMN_GAP;
  return { width, height, nodes: nodes.map((n) => placed.get(n.id)).filter((p) => p !== undefined), edges };
}
