// The Avro schema of a history export row, published as docs/schemas/history-export.avsc
// (avro-schema.test.ts keeps the file equal to this). Every job field is nullable because a
// tombstone row (op "delete": a day partition removed by retention) carries only cluster and
// deleted_day. Times are timestamp-millis (UTC).
export const HISTORY_AVRO_SCHEMA = {
  type: 'record',
  name: 'HistoryExportRow',
  namespace: 'io.slurmfleet.export.v1',
  doc: 'One row of `sfleet export history`: a finished job run (op upsert) or a removed day partition (op delete).',
  fields: [
    { name: 'op', type: { type: 'enum', name: 'Op', symbols: ['upsert', 'delete'] }, doc: 'upsert: the run as it is now (key cluster, job_id, submit_time); delete: every run of cluster that ended on deleted_day is gone.' },
    { name: 'cluster', type: 'string' },
    { name: 'job_id', type: ['null', 'long'], default: null },
    { name: 'submit_time', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'start_time', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'end_time', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'name', type: ['null', 'string'], default: null },
    { name: 'user', type: ['null', 'string'], default: null },
    { name: 'account', type: ['null', 'string'], default: null },
    { name: 'partition', type: ['null', 'string'], default: null },
    { name: 'qos', type: ['null', 'string'], default: null },
    { name: 'state', type: ['null', 'string'], default: null },
    { name: 'exit_code', type: ['null', 'int'], default: null },
    { name: 'exit_signal', type: ['null', 'int'], default: null },
    { name: 'alloc_tres', type: ['null', 'string'], default: null },
    { name: 'cpus', type: ['null', 'int'], default: null },
    { name: 'gpus', type: ['null', 'int'], default: null },
    { name: 'memory_mb', type: ['null', 'long'], default: null },
    { name: 'node_count', type: ['null', 'int'], default: null },
    { name: 'node_list', type: ['null', 'string'], default: null },
    { name: 'nodes', type: ['null', { type: 'array', items: 'string' }], default: null },
    { name: 'written_at', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'When the hub wrote this version of the row (or removed the day).' },
    { name: 'deleted_day', type: ['null', 'string'], default: null, doc: 'op delete: the UTC day (YYYY-MM-DD) of end time removed.' },
  ],
} as const;
