// A quota line's history as a small SVG chart: usage (the peak of each step) as a line, the limit
// in force as a dashed step line, over the chosen range. No chart library: two polylines are all
// it needs, and the bundle stays small. The label tells a screen reader the same in words.

export interface HistoryPoint {
  at: string;
  usage: number;
  value: number;
}

const W = 300;
const H = 44;

export function HistoryChart({ label, points, from, to }: { label: string; points: HistoryPoint[]; from: number; to: number }) {
  if (points.length === 0) return <p class="history-none muted">No history yet.</p>;
  const top = Math.max(1, ...points.map((p) => Math.max(p.usage, p.value)));
  const x = (t: number): string => ((Math.min(Math.max(t, from), to) - from) / Math.max(1, to - from) * W).toFixed(1);
  const y = (v: number): string => (H - 2 - (v / top) * (H - 4)).toFixed(1);
  const usage = points.map((p) => `${x(Date.parse(p.at))},${y(p.usage)}`).join(' ');
  // The limit holds until the next point: a step line, drawn to the right edge.
  const limit = points.flatMap((p, i) => [`${x(Date.parse(p.at))},${y(p.value)}`, `${x(i + 1 < points.length ? Date.parse(points[i + 1].at) : to)},${y(p.value)}`]).join(' ');
  const last = points[points.length - 1];
  const peak = Math.max(...points.map((p) => p.usage));
  const words = `${label}: ${points.length} sample${points.length === 1 ? '' : 's'}, peak ${peak}, last ${last.usage} of ${last.value}`;
  return (
    <svg class="history" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={words} data-last-usage={last.usage} data-last-value={last.value} data-points={points.length}>
      <title>{words}</title>
      <polyline class="history-limit" points={limit} />
      <polyline class="history-usage" points={usage} />
      {points.length === 1 && <circle class="history-dot" cx={x(Date.parse(last.at))} cy={y(last.usage)} r="2.5" />}
    </svg>
  );
}
