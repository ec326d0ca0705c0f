// --scope region|global for the list commands: global answers come from every region, carry a
// `region` field per item (a REGION column in tables) and name the regions that did not answer.
import type { Column } from '../output/render.js';

export type Scope = 'region' | 'global';

export const SCOPE_HELP = "region (this region's hubs, the default) or global (every region, merged)";

export function parseScope(value: string | undefined): Scope {
  if (value === undefined || value === 'region' || value === 'global') return value ?? 'region';
  throw new Error(`unknown scope "${value}": use region or global`);
}

/** Table columns with REGION first when the answer is global. */
export function scopedColumns<T>(columns: Column<T>[], scope: Scope): Column<T>[] {
  if (scope !== 'global') return columns;
  return [{ header: 'REGION', value: (row) => (row as { region?: string }).region ?? '' }, ...columns];
}

/** Collects `partial` over the pages of a global answer; warns on stderr once at the end. */
export class PartialRegions {
  private readonly missing = new Set<string>();

  note(page: { partial?: unknown }): void {
    if (Array.isArray(page.partial)) for (const r of page.partial) this.missing.add(String(r));
  }

  warn(): void {
    if (this.missing.size) process.stderr.write(`warning: partial answer: no answer from region(s) ${[...this.missing].sort().join(', ')}\n`);
  }
}
