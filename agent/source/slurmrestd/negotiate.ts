// Which slurmrestd API version to speak. First the server's own spec (`GET /openapi/v3`): the
// newest supported vX that has `/slurm/vX/jobs`. If the spec is missing or useless, probe
// `/slurm/vX/ping` from the newest supported version down. Auth failures stop at once: no
// other version would accept the token either.
import { SlurmUnavailableError } from '../../../shared/errors/index.js';
import type { RestTransport } from './transport.js';

export interface Negotiated {
  version: string;
  /** The endpoint is the project's simulator (it has `POST /sim/v1/command`). */
  simulator: boolean;
  /** How the version was found, for the log. */
  via: 'openapi' | 'ping';
}

const JOBS_PATH = /^\/slurm\/(v\d+\.\d+\.\d+)\/jobs\/?$/;
const SERVER_URL = /^\/slurm\/(v\d+\.\d+\.\d+)\/?$/;

export async function negotiateVersion(
  transport: RestTransport,
  supported: readonly string[],
  signal?: AbortSignal,
): Promise<Negotiated> {
  const newestFirst = [...supported].sort(compareVersions).reverse();
  const spec = await transport.request({ path: '/openapi/v3', signal });
  refuseAuth(spec.status);
  if (spec.status === 200) {
    const found = versionsInSpec(spec.text);
    const version = newestFirst.find((v) => found.versions.has(v));
    if (version) return { version, simulator: found.simulator, via: 'openapi' };
  }
  for (const version of newestFirst) {
    const ping = await transport.request({ path: `/slurm/${version}/ping`, signal });
    refuseAuth(ping.status);
    if (ping.status === 200) return { version, simulator: false, via: 'ping' };
  }
  throw new SlurmUnavailableError(
    `slurmrestd ${transport.endpoint} offers none of the API versions ${newestFirst.join(', ')}`,
  );
}

/** API versions with a jobs list in an OpenAPI document; tolerant of any shape. */
export function versionsInSpec(text: string): { versions: Set<string>; simulator: boolean } {
  const versions = new Set<string>();
  let doc: { info?: { title?: unknown; description?: unknown }; paths?: Record<string, unknown>; servers?: { url?: unknown }[] };
  try {
    doc = JSON.parse(text);
  } catch {
    return { versions, simulator: false };
  }
  const paths = doc?.paths && typeof doc.paths === 'object' ? Object.keys(doc.paths) : [];
  for (const path of paths) {
    const m = JOBS_PATH.exec(path);
    if (m) versions.add(m[1]);
  }
  // Slurm's static v0.0.38 spec gives paths relative to `servers[0].url` ("/slurm/v0.0.38/").
  const server = Array.isArray(doc?.servers) ? SERVER_URL.exec(String(doc.servers[0]?.url ?? '')) : null;
  if (server && paths.some((p) => p === '/jobs' || p === '/jobs/')) versions.add(server[1]);
  // The project's simulator says so in info.title or info.description, or lists its command path.
  const info = `${String(doc?.info?.title ?? '')} ${String(doc?.info?.description ?? '')}`;
  const simulator = /simulat/i.test(info) || paths.includes('/sim/v1/command');
  return { versions, simulator };
}

export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function refuseAuth(status: number): void {
  if (status === 401 || status === 403 || status === 511) {
    throw new SlurmUnavailableError(`slurmrestd refused our credentials (HTTP ${status}): check slurm.auth`, status);
  }
}
