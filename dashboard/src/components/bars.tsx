// Small presentational pieces: an allocation bar and state chips with their colours.

export function Bar({ label, used, total, unit = '' }: { label: string; used: number; total: number; unit?: string }) {
  const pct = total > 0 ? Math.round((used / total) * 100) : 0;
  return (
    <div class="bar">
      <div class="bar-label">
        <span>{label}</span>
        <span>
          {fmt(used)}
          {unit} / {fmt(total)}
          {unit} ({pct}%)
        </span>
      </div>
      <div class="bar-track" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={used}>
        <div class="bar-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function fmt(n: number): string {
  return n >= 10_000 ? `${Math.round(n / 1000)}k` : n.toLocaleString('en-US');
}

/** A Slurm state's colour class: running green, pending amber, down/failed red, drain violet. */
export function stateClass(state: string): string {
  const s = state.toUpperCase();
  if (s.includes('DRAIN')) return 's-drain';
  if (/DOWN|FAIL|NOT_RESPONDING|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL/.test(s)) return 's-bad';
  if (/RUNNING|ALLOC|MIXED|COMPLETING/.test(s)) return 's-run';
  if (/PENDING|RESERVED|PLANNED|SUSPENDED|REQUEUE/.test(s)) return 's-wait';
  if (/IDLE|COMPLETED/.test(s)) return 's-ok';
  return 's-other';
}

export function Counts({ counts, label }: { counts: Record<string, number>; label: string }) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return <p class="muted">none</p>;
  return (
    <ul class="chips" aria-label={label}>
      {entries.map(([state, n]) => (
        <li key={state} class={`chip ${stateClass(state)}`}>
          <span>{state}</span> <b>{fmt(n)}</b>
        </li>
      ))}
    </ul>
  );
}
