/**
 * `unsupportedOps`: which nodes of a model (subgraphs included) use an operator outside a set,
 * for the runtime to refuse a model with one error that lists them all.
 */
import type { OnnxGraph, OnnxModel } from './model';

export interface UnsupportedOp {
  /** `opType` for the default domain, `domain::opType` for another ('com.microsoft::FusedGemm'). */
  op: string;
  /** The node's name ('' if the file gives none) and where it is: 'the graph', or the attribute holding its subgraph. */
  node: string;
  graph: string;
}

/** The key of an operator in `supported`: its opType, prefixed by `domain::` outside the default domain. */
export function opKey(opType: string, domain: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`;
}

/** Every node whose operator (`opKey`) is not in `supported`, in graph order, subgraphs after their node. */
export function unsupportedOps(model: OnnxModel, supported: ReadonlySet<string>): UnsupportedOp[] {
  const found: UnsupportedOp[] = [];
  const walk = (g: OnnxGraph, where: string) => {
    for (const n of g.nodes) {
      const op = opKey(n.opType, n.domain);
      if (!supported.has(op)) found.push({ op, node: n.name, graph: where });
      for (const [attr, value] of Object.entries(n.attributes)) {
        const graphs = Array.isArray(value) ? value.filter(isGraph) : isGraph(value) ? [value] : [];
        graphs.forEach((sub, i) => walk(sub, `attribute '${attr}'${graphs.length > 1 ? ` graph ${i}` : ''} of node '${n.name}'`));
      }
    }
  };
  walk(model.graph, 'the graph');
  return found;
}

function isGraph(v: unknown): v is OnnxGraph {
  return typeof v === 'object' && v !== null && 'nodes' in v && 'initializers' in v;
}
