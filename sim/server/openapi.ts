// GET /openapi/v3: a minimal OpenAPI document whose `paths` list exactly what this simulated
// slurmrestd serves, in the form its version's spec uses (v0.0.40+ collections end with "/").
// Clients negotiate the API version from these keys, as they do with a real slurmrestd.
import { versionInfo, type ApiVersion } from '../render/index.js';

interface PathDef {
  api: 'slurm' | 'slurmdb';
  tail: string;
  methods: string[];
  collection: boolean;
  since?: number;
}

const PATHS: PathDef[] = [
  { api: 'slurm', tail: 'diag', methods: ['get'], collection: true },
  { api: 'slurm', tail: 'ping', methods: ['get'], collection: true },
  { api: 'slurm', tail: 'jobs', methods: ['get'], collection: true },
  { api: 'slurm', tail: 'job/{job_id}', methods: ['get', 'post', 'delete'], collection: false },
  { api: 'slurm', tail: 'nodes', methods: ['get'], collection: true },
  { api: 'slurm', tail: 'node/{node_name}', methods: ['get'], collection: false },
  { api: 'slurm', tail: 'partitions', methods: ['get'], collection: true },
  { api: 'slurm', tail: 'partition/{partition_name}', methods: ['get'], collection: false },
  { api: 'slurm', tail: 'reservations', methods: ['get'], collection: true },
  { api: 'slurmdb', tail: 'qos', methods: ['get'], collection: true },
  { api: 'slurmdb', tail: 'accounts', methods: ['get'], collection: true },
  { api: 'slurmdb', tail: 'associations', methods: ['get'], collection: true },
];

export function openapiDocument(version: ApiVersion): Record<string, unknown> {
  const v = versionInfo(version);
  const paths: Record<string, unknown> = {};
  for (const p of PATHS) {
    const slash = v.n >= 40 && p.collection ? '/' : '';
    const key = `/${p.api}/${version}/${p.tail}${slash}`;
    const methods = p.tail === 'node/{node_name}' && v.n >= 39 ? ['get', 'post'] : p.methods;
    const ops: Record<string, unknown> = {};
    for (const m of methods) {
      ops[m] = {
        tags: [p.api],
        operationId: `slurm${p.api === 'slurmdb' ? 'db' : ''}_${version.replace(/\./g, '_')}_${m}_${p.tail.replace(/[/{}]+/g, '_').replace(/_$/, '')}`,
        responses: { '200': { description: 'success' }, default: { description: 'error' } },
      };
    }
    paths[key] = ops;
  }
  // Sim-only: scontrol's stand-in (requeue has no REST endpoint in any version, drain/resume none in v0.0.38).
  paths['/sim/v1/command'] = { post: { tags: ['sim'], operationId: 'sim_command', responses: { '200': { description: 'done' }, default: { description: 'refused' } } } };
  return {
    openapi: '3.0.3',
    info: {
      title: 'Slurm REST API',
      description: 'API to access and control Slurm (simulated by sfleet sim)',
      version: `Slurm-${v.release}`,
      license: { name: 'Apache 2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0.html' },
    },
    servers: [{ url: '/' }],
    security: [{ user: [], token: [] }],
    paths,
    components: {
      securitySchemes: {
        user: { type: 'apiKey', description: 'User name', name: 'X-SLURM-USER-NAME', in: 'header' },
        token: { type: 'apiKey', description: 'User access token', name: 'X-SLURM-USER-TOKEN', in: 'header' },
      },
    },
  };
}
