// audit.ship.fields: what a destination is given of each record. The id always goes, so a
// record sent again overwrites its copy instead of adding one (Elasticsearch _id, webhook dedupe).
import type { AuditRecord } from '../record.js';

export type ShippedRecord = Partial<AuditRecord> & { id: string };

export function shippedFields(fields: readonly string[] | undefined): (record: AuditRecord) => ShippedRecord {
  if (!fields) return (record) => record;
  return (record) => {
    const out: Record<string, unknown> = { id: record.id };
    for (const f of fields) if (f in record) out[f] = record[f as keyof AuditRecord];
    return out as ShippedRecord;
  };
}
