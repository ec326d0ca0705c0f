// The rows of `export jobs|nodes|events|audit`: the fields the API shows for each (views.ts,
// the events and audit routes), flattened where Avro and Parquet need it (an audit record's
// tenant becomes tenant_cluster and tenant_account). Published as docs/schemas/<kind>-export.avsc;
// kind-specs.test.ts keeps the files equal to these.
import type { RowSpec } from './row-spec.js';

const s = (name: string, doc?: string) => ({ name, type: 'string' as const, ...(doc ? { doc } : {}) });
const l = (name: string) => ({ name, type: 'long' as const });
const i = (name: string) => ({ name, type: 'int' as const });
const t = (name: string, doc?: string) => ({ name, type: 'time' as const, ...(doc ? { doc } : {}) });
const list = (name: string) => ({ name, type: 'strings' as const });

export const JOBS_SPEC: RowSpec = {
  record: 'JobExportRow',
  doc: 'One row of `sfleet export jobs`: a job the hub holds now (op upsert, key cluster and id), or one that is gone since the cursor (op delete).',
  columns: [
    { name: 'cluster', type: 'string', key: true },
    { name: 'id', type: 'long', doc: 'Null only on a delete that names the cluster alone: every earlier row of that cluster is gone.' },
    l('array_job_id'), i('array_task_id'), s('array_task_string'), l('het_job_id'), i('het_job_offset'),
    s('name'), s('user'), s('account'), s('partition'), s('qos'), s('state'), list('state_flags'), s('state_reason'),
    list('nodes'), s('node_list'), t('submit_time'), t('start_time'), t('end_time'), i('exit_code'), i('exit_signal'),
    i('cpus'), i('node_count'), l('memory_mb'), l('time_limit_s'), l('priority'), s('working_dir'), s('comment'), s('tres'),
  ],
};

export const NODES_SPEC: RowSpec = {
  record: 'NodeExportRow',
  doc: 'One row of `sfleet export nodes`: a node the hub holds now (op upsert, key cluster and name), or one that is gone since the cursor (op delete).',
  columns: [
    { name: 'cluster', type: 'string', key: true },
    { name: 'name', type: 'string', doc: 'Null only on a delete that names the cluster alone: every earlier row of that cluster is gone.' },
    s('state'), list('flags'), s('reason'), i('cpus'), i('alloc_cpus'), l('memory_mb'), l('alloc_memory_mb'), l('free_memory_mb'),
    list('partitions'), list('features'), s('gres'), { name: 'cpu_load', type: 'double' }, t('boot_time'), t('last_busy'),
    s('reason_set_by'), t('reason_time'), s('address'), s('hostname'), s('slurm_version'),
  ],
};

export const EVENTS_SPEC: RowSpec = {
  record: 'EventExportRow',
  doc: 'One row of `sfleet export events`: a fleet event (append-only: always op upsert, key id).',
  columns: [
    { name: 'id', type: 'string', key: true },
    { name: 'cluster', type: 'string', key: true },
    s('type'), s('severity'), s('message'), t('occurred_at', 'When the agent saw it.'), t('received_at', 'When the exporting hub recorded it.'),
    { name: 'attributes', type: 'map' },
  ],
};

export const AUDIT_SPEC: RowSpec = {
  record: 'AuditExportRow',
  doc: 'One row of `sfleet export audit`: an audit record of the exporting hub\'s chain (append-only: always op upsert, key hub_id and seq).',
  columns: [
    { name: 'hub_id', type: 'string', key: true },
    { name: 'seq', type: 'long', key: true },
    s('id'), t('timestamp'), s('level'), s('user'), s('auth_method'), s('action'), s('resource'), s('outcome'), i('status'),
    s('reason'), s('source_ip'), s('request_id'), s('tenant_cluster'), s('tenant_account'), s('transport'),
    s('prev_hash', 'The chain: the hash of the record before (sfleet audit verify checks it).'), s('hash'),
  ],
};

export const KIND_SPECS = { jobs: JOBS_SPEC, nodes: NODES_SPEC, events: EVENTS_SPEC, audit: AUDIT_SPEC } as const;
export type FleetExportKind = keyof typeof KIND_SPECS;
