// Compares two V8 heap snapshots of one process (the soak's --heap-snapshots-at writes them):
//   node dist/scripts/soak/heap-diff.js EARLY.heapsnapshot LATE.heapsnapshot [--top N] [--retainers NAME]
// prints the node kinds (type and constructor or function name) whose count and self size grew
// most, and with --retainers NAME, what holds the late snapshot's NAME objects (owner kind and
// edge name) and the retainer chains of its newest nodes: the path from a growing kind back to
// the structure that keeps it.
// A snapshot is parsed whole (JSON), so give node a big heap: node --max-old-space-size=4096.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Parsed {
  raw: Snapshot;
  nodeSize: number;
  edgeSize: number;
  kind(node: number): string;
}

function load(file: string): Parsed {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { node_fields, node_types } = raw.snapshot.meta;
  const types = node_types[0];
  const nodeSize = node_fields.length;
  return {
    raw,
    nodeSize,
    edgeSize: raw.snapshot.meta.edge_fields.length,
    // node is the index of its first field; fields: type, name, id, self_size, edge_count, ...
    kind: (node) => `${types[raw.nodes[node]]}:${raw.strings[raw.nodes[node + 1]].slice(0, 80)}`,
  };
}

/** Per kind: how many nodes and their self size in bytes. */
function census(p: Parsed): Map<string, { count: number; bytes: number }> {
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < p.raw.nodes.length; i += p.nodeSize) {
    const k = p.kind(i);
    const e = out.get(k) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += p.raw.nodes[i + 3];
    out.set(k, e);
  }
  return out;
}

/** Who points at nodes of this kind: `owner kind --edge-->` with how many edges. */
function retainers(p: Parsed, name: string, top: number): [string, number][] {
  const { nodes, edges, strings } = p.raw;
  const edgeTypes = p.raw.snapshot.meta.edge_types[0];
  const counts = new Map<string, number>();
  let e = 0;
  for (let i = 0; i < nodes.length; i += p.nodeSize) {
    const n = nodes[i + 4];
    for (let j = 0; j < n; j++, e += p.edgeSize) {
      const to = edges[e + 2];
      if (!p.kind(to).endsWith(`:${name}`)) continue;
      const type = edgeTypes[edges[e]];
      if (type === 'weak') continue;
      const label = type === 'element' || type === 'hidden' ? `[${type}]` : strings[edges[e + 1]];
      const key = `${p.kind(i)} --${label}-->`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top);
}

/**
 * Retainer chains of the newest few nodes of this kind (highest ids: made last, so the likeliest
 * leaked): from each node up through the holders that are objects, skipping weak edges and V8's
 * own (code, feedback) holders when an object holds it too.
 */
function paths(p: Parsed, name: string, samples: number, depth: number): string[] {
  const { nodes, edges, strings } = p.raw;
  const edgeTypes = p.raw.snapshot.meta.edge_types[0];
  const types = p.raw.snapshot.meta.node_types[0];
  const count = nodes.length / p.nodeSize;
  // Reverse edges (CSR): for node n, holders[start[n]..start[n+1]) are [owner node index, edge index].
  const start = new Int32Array(count + 1);
  const walk = (visit: (owner: number, e: number) => void): void => {
    let e = 0;
    for (let i = 0; i < nodes.length; i += p.nodeSize) for (let j = 0; j < nodes[i + 4]; j++, e += p.edgeSize) if (edgeTypes[edges[e]] !== 'weak') visit(i, e);
  };
  walk((_o, e) => start[edges[e + 2] / p.nodeSize + 1]++);
  for (let i = 0; i < count; i++) start[i + 1] += start[i];
  const fill = start.slice(0, count);
  const holders = new Int32Array(start[count] * 2);
  walk((o, e) => {
    const k = fill[edges[e + 2] / p.nodeSize]++;
    holders[2 * k] = o;
    holders[2 * k + 1] = e;
  });
  const label = (e: number): string => (edgeTypes[edges[e]] === 'element' || edgeTypes[edges[e]] === 'hidden' ? `[${edges[e + 1]}]` : strings[edges[e + 1]]);
  const rank = (o: number): number => (['object', 'closure', 'array'].includes(types[nodes[o]]) && !p.kind(o).includes('system /') ? 0 : 1);
  const picked: number[] = [];
  for (let i = nodes.length - p.nodeSize; i >= 0 && picked.length < samples; i -= p.nodeSize) if (p.kind(i).endsWith(`:${name}`)) picked.push(i);
  return picked.map((first) => {
    const seen = new Set<number>([first]);
    const out = [p.kind(first)];
    for (let n = first, d = 0; d < depth; d++) {
      const idx = n / p.nodeSize;
      let best = -1;
      for (let k = start[idx]; k < start[idx + 1]; k++) {
        const o = holders[2 * k];
        if (seen.has(o)) continue;
        if (best < 0 || rank(o) < rank(holders[2 * best])) best = k;
      }
      if (best < 0) break;
      n = holders[2 * best];
      seen.add(n);
      out.push(`<-${label(holders[2 * best + 1])}- ${p.kind(n)}`);
    }
    return out.join('\n    ');
  });
}

function main(argv: string[]): void {
  const files = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const top = Number(opt('--top') ?? 30);
  if (files.length !== 2) {
    process.stderr.write('usage: heap-diff EARLY.heapsnapshot LATE.heapsnapshot [--top N] [--retainers NAME [--samples N] [--depth N]]\n');
    process.exit(2);
  }
  const early = census(load(files[0]));
  const lateParsed = load(files[1]);
  const late = census(lateParsed);
  const rows = [...late].map(([k, l]) => ({ k, dCount: l.count - (early.get(k)?.count ?? 0), dBytes: l.bytes - (early.get(k)?.bytes ?? 0), count: l.count }));
  const total = (m: typeof late): number => [...m.values()].reduce((s, e) => s + e.bytes, 0);
  process.stdout.write(`self size: ${(total(early) / 2 ** 20).toFixed(1)} -> ${(total(late) / 2 ** 20).toFixed(1)} MiB\n`);
  process.stdout.write(`${'kind'.padEnd(60)} ${'+count'.padStart(9)} ${'+KiB'.padStart(9)} ${'count'.padStart(9)}\n`);
  for (const r of rows.sort((a, b) => b.dBytes - a.dBytes).slice(0, top)) {
    process.stdout.write(`${r.k.padEnd(60)} ${String(r.dCount).padStart(9)} ${(r.dBytes / 1024).toFixed(0).padStart(9)} ${String(r.count).padStart(9)}\n`);
  }
  const name = opt('--retainers');
  if (name) {
    process.stdout.write(`\nretainers of ${name} in the late snapshot:\n`);
    for (const [k, n] of retainers(lateParsed, name, top)) process.stdout.write(`${String(n).padStart(9)}  ${k}\n`);
    process.stdout.write(`\nretainer chains of the newest ${name} nodes:\n`);
    for (const chain of paths(lateParsed, name, Number(opt('--samples') ?? 3), Number(opt('--depth') ?? 16))) process.stdout.write(`  ${chain}\n`);
  }
}

main(process.argv.slice(2));
