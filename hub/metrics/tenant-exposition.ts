// /metrics for a caller acting in a tenant: the same exposition, cut to the series the tenant may
// see. Cut as text, after the registry rendered it, so every family (fleet gauges, quotas,
// controllers, agents, whatever is added later) is judged by one rule on its labels, and a new
// family cannot leak by forgetting a filter: a series with no cluster and no tenant label (the
// hub's own process, ingest and request series) is not the tenant's and is left out.
// HELP and TYPE lines stay only for the families that keep a sample.

export type SeriesLabels = Readonly<Record<string, string>>;

/** The exposition with only the samples `keep` accepts. */
export function filterExposition(text: string, keep: (labels: SeriesLabels) => boolean): string {
  const out: string[] = [];
  let header: string[] = [];
  let family = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const name = line.split(' ')[2] ?? '';
      if (name !== family) {
        family = name;
        header = [];
      }
      header.push(line);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample || !keep(parseLabels(sample[2] ?? ''))) continue;
    if (header.length) {
      out.push(...header);
      header = [];
    }
    out.push(line);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** What a tenant sees: series labelled with its tenant, or of its clusters and accounts. */
export function tenantSeries(tenant: string, inTenant: (object: { cluster: string; account: string }) => boolean): (labels: SeriesLabels) => boolean {
  return (labels) => {
    if (labels.tenant !== undefined) return labels.tenant === tenant;
    if (labels.cluster === undefined) return false;
    // A series of a whole cluster (no account label) counts every tenant's jobs there: only for a
    // tenant that owns the cluster whole (every account, which no real account name stands for).
    return inTenant({ cluster: labels.cluster, account: labels.account ?? WHOLE_CLUSTER });
  };
}

const WHOLE_CLUSTER = '\u0000';
// name, then the label set up to the last '}' (values and timestamps hold none), then the value.
const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+\S+/;
const LABEL = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;

function parseLabels(text: string): SeriesLabels {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(LABEL)) labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return labels;
}
