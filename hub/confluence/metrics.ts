// sfleet_confluence_pages_total{kind,outcome}: pages written (created or updated) and failed tries.
import { Counter, type Registry } from 'prom-client';
import type { PageKind, PageOutcome } from './publisher.js';

export function confluencePageCounter(registry: Registry): (kind: PageKind, outcome: PageOutcome) => void {
  const counter = new Counter({
    name: 'sfleet_confluence_pages_total',
    help: 'Confluence report pages written by this hub (created, updated) and tries that failed, by kind (usage, incident)',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  for (const kind of ['usage', 'incident'] as const) for (const outcome of ['created', 'updated', 'failed'] as const) counter.inc({ kind, outcome }, 0);
  return (kind, outcome) => counter.inc({ kind, outcome });
}
