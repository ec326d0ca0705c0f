// Slurm hostlist expressions ("node[1-3,7],gpu[01-02]") to names and back. Users filter by
// one node name, so the model keeps the expanded list next to Slurm's compact one.

const MAX_EXPANDED = 1_000_000;

export function expandHostlist(expr: string | null | undefined): string[] {
  if (!expr) return [];
  const out: string[] = [];
  for (const part of splitTopLevel(expr.trim())) {
    if (part === '' || part === '(null)') continue;
    expandOne(part, out);
  }
  return out;
}

function splitTopLevel(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of expr) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function expandOne(pattern: string, out: string[]): void {
  const open = pattern.indexOf('[');
  if (open < 0) {
    out.push(pattern);
    return;
  }
  const close = pattern.indexOf(']', open);
  if (close < 0) throw new Error(`hostlist "${pattern}" has an unclosed bracket`);
  const prefix = pattern.slice(0, open);
  const suffix = pattern.slice(close + 1);
  const suffixNames: string[] = [];
  expandOne(suffix === '' ? '' : suffix, suffixNames);
  for (const range of pattern.slice(open + 1, close).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!m) throw new Error(`hostlist "${pattern}" has a bad range "${range}"`);
    const width = m[1].length;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`hostlist "${pattern}" has a descending range "${range}"`);
    // Counted before a name is made: node[1-99999999999] would otherwise take all memory first.
    if (!Number.isSafeInteger(to) || out.length + (to - from + 1) * Math.max(1, suffixNames.length) > MAX_EXPANDED) {
      throw new Error(`hostlist "${pattern.slice(0, 80)}" expands to more than ${MAX_EXPANDED} names`);
    }
    for (let i = from; i <= to; i++) {
      const num = String(i).padStart(width, '0');
      for (const s of suffixNames) out.push(prefix + num + s);
    }
  }
}

/** Compresses names into a hostlist expression, grouping by prefix and numeric suffix. */
export function compressHostlist(names: string[]): string {
  const groups = new Map<string, { width: number; nums: number[] }>();
  const plain: string[] = [];
  for (const name of names) {
    const m = /^(.*?)(\d+)$/.exec(name);
    if (!m) {
      plain.push(name);
      continue;
    }
    const key = `${m[1]}\u0000${m[2].length}`;
    const group = groups.get(key) ?? { width: m[2].length, nums: [] };
    group.nums.push(Number(m[2]));
    groups.set(key, group);
  }
  const parts = [...plain];
  for (const [key, { width, nums }] of groups) {
    const prefix = key.split('\u0000')[0];
    const sorted = [...new Set(nums)].sort((a, b) => a - b);
    if (sorted.length === 1) {
      parts.push(prefix + String(sorted[0]).padStart(width, '0'));
      continue;
    }
    const ranges: string[] = [];
    let start = sorted[0];
    let prev = start;
    for (const n of [...sorted.slice(1), Number.NaN]) {
      if (n === prev + 1) {
        prev = n;
        continue;
      }
      const a = String(start).padStart(width, '0');
      ranges.push(start === prev ? a : `${a}-${String(prev).padStart(width, '0')}`);
      start = prev = n;
    }
    parts.push(`${prefix}[${ranges.join(',')}]`);
  }
  return parts.join(',');
}
