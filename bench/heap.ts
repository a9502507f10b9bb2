// Heap snapshots of a server before and after N idle connections: what each connection costs, by
// constructor (self size, so nothing is counted twice), and who holds the new objects (retainer chains).
// Object ids are stable between two snapshots of one process, so "new" = an id the first one lacks.
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapClass {
  name: string;
  count: number;
  bytes: number;
  /** Most frequent retainer chains of the class's new objects (closest holder first), with their share. */
  heldBy?: Array<{ chain: string; share: number }>;
}

/** A parsed snapshot: one entry per heap object. */
export class Snapshot {
  readonly keys: string[] = [];
  readonly ids: number[] = [];
  readonly sizes: number[] = [];
  /** Index of one strong retainer of each node (-1 for none), and the edge name leading from it. */
  readonly retainer: Int32Array;
  readonly via: string[] = [];
  private readonly labels: string[] = [];

  constructor(file: string) {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
    const { node_fields: fields, node_types: nodeTypes, edge_fields: edgeFields, edge_types: edgeTypes } = snap.snapshot.meta;
    const types = nodeTypes[0];
    const stride = fields.length;
    const [typeAt, nameAt, idAt, sizeAt, countAt] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => fields.indexOf(f));
    const count = snap.nodes.length / stride;
    this.retainer = new Int32Array(count).fill(-1);
    for (let n = 0; n < count; n++) {
      const i = n * stride;
      const type = types[snap.nodes[i + typeAt]];
      const name = snap.strings[snap.nodes[i + nameAt]];
      this.keys.push(classOf(type, name));
      this.labels.push(type === 'object' || type === 'closure' || type === 'native' ? name.slice(0, 40) : `(${type})`);
      this.ids.push(snap.nodes[i + idAt]);
      this.sizes.push(snap.nodes[i + sizeAt]);
    }
    const eStride = edgeFields.length;
    const [eTypeAt, eNameAt, eToAt] = ['type', 'name_or_index', 'to_node'].map((f) => edgeFields.indexOf(f));
    const eTypes = edgeTypes[0];
    let e = 0;
    for (let n = 0; n < count; n++) {
      const edges = snap.nodes[n * stride + countAt];
      for (let k = 0; k < edges; k++, e += eStride) {
        const type = eTypes[snap.edges[e + eTypeAt]];
        if (type === 'weak' || type === 'shortcut') continue;
        const to = snap.edges[e + eToAt] / stride;
        if (this.retainer[to] !== -1) continue;
        this.retainer[to] = n;
        const name = snap.edges[e + eNameAt];
        this.via[to] = type === 'element' || type === 'hidden' ? `[${name}]` : `.${snap.strings[name] ?? name}`;
      }
    }
  }

  idSet(): Set<number> {
    return new Set(this.ids);
  }

  /** "Holder.field < Holder.field …", `depth` levels up from node `n` (string ropes are stepped over). */
  chain(n: number, depth: number): string {
    const parts: string[] = [];
    for (let cur = n, d = 0, guard = 0; d < depth && guard < 64; guard++) {
      const up = this.retainer[cur];
      if (up === -1) break;
      const label = this.labels[up];
      if (label === '(concatenated string)' || label === '(sliced string)') {
        if (parts[parts.length - 1] !== '(rope)') parts.push('(rope)');
      } else {
        parts.push(`${label}${this.via[cur] ?? ''}`);
        d++;
      }
      cur = up;
    }
    return parts.join(' < ');
  }
}

function classOf(type: string, name: string): string {
  if (type === 'object' || type === 'native') return name;
  if (type === 'closure') return `closure ${name || '(anonymous)'}`;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return '(strings)';
  if (type === 'array') return `(array) ${name}`;
  if (type === 'hidden' || type === 'object shape' || type === 'code') return `(${type}) ${name.startsWith('system /') ? name : ''}`.trim();
  return `(${type})`;
}

/** Objects of `after` newer than `before`, by class, ÷ n; the largest classes get their retainer chains. */
export function perConnection(before: Snapshot, after: Snapshot, n: number, chainsFor = 12, depth = 4): HeapClass[] {
  const old = before.idSet();
  const classes = new Map<string, { count: number; bytes: number; nodes: number[] }>();
  for (let i = 0; i < after.ids.length; i++) {
    if (old.has(after.ids[i])) continue;
    const key = after.keys[i];
    const c = classes.get(key) ?? { count: 0, bytes: 0, nodes: [] };
    c.count++;
    c.bytes += after.sizes[i];
    c.nodes.push(i);
    classes.set(key, c);
  }
  const out = [...classes.entries()]
    .map(([name, c]) => ({ name, count: c.count / n, bytes: c.bytes / n, nodes: c.nodes }))
    .filter((c) => c.bytes >= 1)
    .sort((a, b) => b.bytes - a.bytes);
  return out.map((c, rank) => {
    const result: HeapClass = { name: c.name, count: c.count, bytes: c.bytes };
    if (rank < chainsFor) {
      const chains = new Map<string, number>();
      for (const node of c.nodes) {
        const chain = after.chain(node, depth);
        chains.set(chain, (chains.get(chain) ?? 0) + after.sizes[node]);
      }
      const total = c.bytes * n;
      result.heldBy = [...chains.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([chain, bytes]) => ({ chain, share: total ? bytes / total : 0 }));
    }
    return result;
  });
}
