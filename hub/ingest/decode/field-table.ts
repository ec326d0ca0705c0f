// The fast decoder's field table: for every message reachable from Delta, each field's number,
// its key as ts-proto names it, and how the fast path reads it. It is written by hand from
// proto/fleet/v1/*.proto; field-table.test.ts walks the proto from Delta and fails on a field
// missing here (or numbered, named or typed differently), so the table cannot drift silently.
// A field the fast path leaves to the generated decoder says so ('generated').

/** How a scalar is read. Interned strings are the short ones that repeat across objects. */
export type ScalarType = 'string' | 'istring' | 'rstring' | 'ristring' | 'uint64' | 'uint32' | 'int32' | 'bool' | 'double';

/**
 * Scalars, plus: 'enum' (read as a non-negative int32), 'message' / 'rmessage' (one / repeated
 * message, named in the spec), 'gmessage' (one message inside an object, small and rare, that its
 * generated decoder reads while the fast path goes on), 'generated' (the whole delta goes to the
 * generated decoder).
 */
export type FieldType = ScalarType | 'enum' | 'message' | 'rmessage' | 'gmessage' | 'generated';

/** The field types an object kind's decoder reads (object-codecs.ts). */
export type ObjectFieldType = ScalarType | 'gmessage';

/** [field number, key, how it is read, the message type for message fields]. */
export type FieldSpec = readonly [number, string, FieldType, string?];

export const WIRE: Record<ScalarType, number> = { string: 2, istring: 2, rstring: 2, ristring: 2, uint64: 0, uint32: 0, int32: 0, bool: 0, double: 1 };

export const FIELD_TABLE = {
  Delta: [
    [1, 'cluster', 'istring'], [2, 'epoch', 'uint64'], [3, 'seq', 'uint64'], [4, 'upserts', 'rmessage', 'FleetObject'],
    [5, 'removals', 'rmessage', 'ObjectRef'], [6, 'observed_at', 'string'], [7, 'snapshot', 'bool'],
    // Events are rare (a controller failover) and carry a map: not worth a fast path.
    [8, 'events', 'generated', 'FleetEvent'], [9, 'snapshot_part', 'uint32'], [10, 'snapshot_parts', 'uint32'], [11, 'traceparent', 'string'],
  ],
  /** The oneof `kind`, one member per object kind, in field-number order. */
  FleetObject: [
    [1, 'job', 'message', 'Job'], [2, 'node', 'message', 'Node'], [3, 'partition', 'message', 'Partition'], [4, 'reservation', 'message', 'Reservation'],
    [5, 'qos', 'message', 'Qos'], [6, 'account', 'message', 'Account'], [7, 'association', 'message', 'Association'], [8, 'controller', 'message', 'ControllerHealth'],
  ],
  ObjectRef: [[1, 'kind', 'enum'], [2, 'id', 'string']],
  Job: [
    [1, 'cluster', 'istring'], [2, 'id', 'uint64'], [3, 'array_job_id', 'uint64'], [4, 'array_task_id', 'uint32'],
    [5, 'array_task_string', 'string'], [6, 'het_job_id', 'uint64'], [7, 'het_job_offset', 'uint32'], [8, 'name', 'istring'],
    [9, 'user', 'istring'], [10, 'account', 'istring'], [11, 'partition', 'istring'], [12, 'qos', 'istring'], [13, 'state', 'istring'],
    [14, 'state_flags', 'ristring'], [15, 'state_reason', 'istring'], [16, 'nodes', 'ristring'], [17, 'node_list', 'istring'],
    [18, 'submit_time', 'string'], [19, 'start_time', 'string'], [20, 'end_time', 'string'], [21, 'exit_code', 'int32'],
    [22, 'exit_signal', 'int32'], [23, 'cpus', 'uint32'], [24, 'node_count', 'uint32'], [25, 'memory_mb', 'uint64'],
    [26, 'time_limit_s', 'uint64'], [27, 'priority', 'uint64'], [28, 'working_dir', 'istring'], [29, 'comment', 'istring'], [30, 'tres', 'istring'],
  ],
  Node: [
    [1, 'cluster', 'istring'], [2, 'name', 'istring'], [3, 'state', 'istring'], [4, 'flags', 'ristring'], [5, 'reason', 'istring'],
    [6, 'cpus', 'uint32'], [7, 'alloc_cpus', 'uint32'], [8, 'memory_mb', 'uint64'], [9, 'alloc_memory_mb', 'uint64'],
    [10, 'free_memory_mb', 'uint64'], [11, 'partitions', 'ristring'], [12, 'features', 'ristring'], [13, 'gres', 'istring'],
    [14, 'cpu_load', 'double'], [15, 'boot_time', 'string'], [16, 'last_busy', 'string'], [17, 'reason_set_by', 'istring'],
    [18, 'reason_time', 'string'], [19, 'address', 'istring'], [20, 'hostname', 'istring'], [21, 'slurm_version', 'istring'],
  ],
  Partition: [
    [1, 'cluster', 'istring'], [2, 'name', 'istring'], [3, 'state', 'istring'], [4, 'nodes', 'ristring'], [5, 'node_list', 'string'],
    [6, 'total_cpus', 'uint32'], [7, 'total_nodes', 'uint32'], [8, 'is_default', 'bool'], [9, 'max_time_s', 'uint64'],
    [10, 'default_time_s', 'uint64'], [11, 'allowed_accounts', 'ristring'], [12, 'allowed_qos', 'ristring'], [13, 'qos', 'istring'],
  ],
  Reservation: [
    [1, 'cluster', 'istring'], [2, 'name', 'istring'], [3, 'nodes', 'ristring'], [4, 'node_list', 'string'], [5, 'start_time', 'string'],
    [6, 'end_time', 'string'], [7, 'users', 'ristring'], [8, 'accounts', 'ristring'], [9, 'flags', 'ristring'], [10, 'partition', 'istring'],
    [11, 'node_count', 'uint32'], [12, 'core_count', 'uint32'],
  ],
  Qos: [
    [1, 'cluster', 'istring'], [2, 'name', 'istring'], [3, 'description', 'string'], [4, 'priority', 'uint64'], [5, 'max_wall_s', 'uint64'],
    [6, 'flags', 'ristring'], [7, 'preempt_mode', 'istring'],
  ],
  Account: [[1, 'cluster', 'istring'], [2, 'name', 'istring'], [3, 'description', 'string'], [4, 'organization', 'istring'], [5, 'coordinators', 'ristring']],
  Association: [
    [1, 'cluster', 'istring'], [2, 'account', 'istring'], [3, 'user', 'istring'], [4, 'partition', 'istring'], [5, 'parent_account', 'istring'],
    [6, 'qos', 'ristring'], [7, 'default_qos', 'istring'], [8, 'id', 'uint64'],
  ],
  ControllerHealth: [
    [1, 'cluster', 'istring'], [2, 'hostname', 'istring'], [3, 'responding', 'bool'], [4, 'mode', 'istring'], [5, 'latency_ms', 'double'],
    [6, 'api_version', 'istring'], [7, 'slurm_version', 'istring'], [8, 'observed_at', 'string'], [9, 'server_thread_count', 'uint64'],
    [10, 'agent_queue_size', 'uint64'], [11, 'jobs_running', 'uint64'], [12, 'jobs_pending', 'uint64'], [13, 'endpoint', 'istring'],
    [14, 'diag', 'gmessage', 'ControllerDiag'],
  ],
} as const satisfies Record<string, readonly FieldSpec[]>;
