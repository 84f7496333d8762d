/**
 * Building DOM from data without ever parsing it as markup: every string becomes a text node, so
 * a job name or an exception text shows as typed, whatever characters it holds.
 */
export type Child = Node | string | number | null | undefined | false;
export type Attrs = Readonly<Record<string, string | number | undefined>>;

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element; `on*` attributes are refused so that no string becomes a handler. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag) as SVGElementTagNameMap[K];
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

function setAttributes(node: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (/^on/i.test(name) || name === 'style') throw new Error(`attribute '${name}' is not set from data`);
    node.setAttribute(name, String(value));
  }
}

/** A link inside the dashboard (hash routes only: nothing from data becomes a scheme). */
export function link(route: string, ...children: Child[]): HTMLAnchorElement {
  return el('a', { href: `#${route}` }, ...children);
}

export function table(headers: readonly string[], rows: readonly (readonly Child[])[], attrs: Attrs = {}): HTMLTableElement {
  return el(
    'table',
    attrs,
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))))),
  );
}

export function stateBadge(state: string): HTMLSpanElement {
  return el('span', { class: `state state-${state.toLowerCase().replace(/[^a-z_]/g, '')}` }, state);
}
