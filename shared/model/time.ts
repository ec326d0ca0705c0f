/** Slurm's unix seconds to the model's ISO-8601 UTC; 0 and absent mean "not set". */
export function isoFromUnix(seconds: number | null | undefined): string | undefined {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  const date = new Date(seconds * 1000);
  // Past what a Date holds (about 275,000 years): nothing Slurm means by it, so not set (a fuzz finding: it threw).
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace('.000Z', 'Z');
}

export function unixFromIso(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** Parses "10s", "5m", "1h30m", "250ms" or a bare number of seconds into milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return input * 1000;
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    total += Number(match[1]) * units[match[2]];
    consumed += match[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`invalid duration "${input}" (use e.g. 10s, 5m, 1h)`);
  return total;
}
