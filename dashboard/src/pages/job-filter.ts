// The jobs filter box: "state:pending user:alice account:physics" (a bare word is a user name),
// read into the URL's query parameters and written back from them.
export const FILTER_KEYS = ['cluster', 'state', 'user', 'account', 'partition', 'node'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export function parseFilter(text: string): Partial<Record<FilterKey, string>> {
  const out: Partial<Record<FilterKey, string>> = {};
  for (const word of text.trim().split(/\s+/)) {
    if (!word) continue;
    const i = word.indexOf(':');
    const key = (i > 0 ? word.slice(0, i).toLowerCase() : 'user') as FilterKey;
    const value = i > 0 ? word.slice(i + 1) : word;
    if (FILTER_KEYS.includes(key) && value) out[key] = key === 'state' ? value.toUpperCase() : value;
  }
  return out;
}

export function filterText(query: URLSearchParams): string {
  return FILTER_KEYS.filter((k) => query.get(k))
    .map((k) => `${k}:${query.get(k)}`)
    .join(' ');
}
