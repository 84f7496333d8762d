/**
 * The names Flink shows for operators and tasks: a source is `Source: <name>`, a sink
 * `Sink: <name>`, and a chain of operators that run as one task is `A -> B -> C`. Only for
 * display: state is filed under uids, and generated uids come from the plain names.
 */
import type { StreamNode } from '../api/stream-graph.ts';

export function operatorName(node: Pick<StreamNode, 'kind' | 'name' | 'isSink'>): string {
  if (node.kind === 'source') return `Source: ${node.name}`;
  return node.isSink === true ? `Sink: ${node.name}` : node.name;
}

export function chainName(nodes: readonly { readonly node: Pick<StreamNode, 'kind' | 'name' | 'isSink'> }[]): string {
  return nodes.map((n) => operatorName(n.node)).join(' -> ');
}
