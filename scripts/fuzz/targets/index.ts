// The fuzz targets, in the order `npm run fuzz` runs them. Each file exports fuzz(data) and
// checks invariant.ts's property; its seed corpus is scripts/fuzz/corpus/<name>/ (corpus.ts).
export interface FuzzTarget {
  name: string;
  /** fuzz() returns a promise: Jazzer's slower asynchronous mode. */
  async: boolean;
  what: string;
}

export const TARGETS: readonly FuzzTarget[] = [
  { name: 'response-reader', async: false, what: 'slurmrestd HTTP/1.1 response framing' },
  { name: 'list-stream', async: false, what: 'streamed slurmrestd /jobs and /nodes lists, every API version' },
  { name: 'delta-decode', async: false, what: 'fast Delta/AgentMessage decoder against the generated one (differential)' },
  { name: 'config-file', async: false, what: 'hub and agent YAML config with --set overrides' },
  { name: 'api-request', async: true, what: 'REST API path parameters, query strings and bodies on every route' },
];
