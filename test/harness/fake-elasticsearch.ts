// A stand-in for Elasticsearch/OpenSearch's `_bulk` endpoint (neither runs here), checking a
// request the way the real one does (docs: "Bulk API"): POST, Content-Type
// application/x-ndjson, a body of action/metadata lines each followed by a source line for
// index/create, terminated by a newline; 200 with `errors` and one item per action in order.
// Tests switch it down (503), make it hang, or fail chosen items (429 or a mapping error).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface BulkRequestSeen {
  authorization?: string;
  actions: { _index: string; _id?: string }[];
}

export class FakeElasticsearch {
  readonly docs = new Map<string, Record<string, unknown>>();
  readonly requests: BulkRequestSeen[] = [];
  /** Every malformed request, with the error the real endpoint would answer. */
  readonly refusals: string[] = [];
  mode: 'up' | 'down' | 'hang' = 'up';
  /** Items (by _id) to fail once with this status, then accept. */
  failOnce = new Map<string, number>();
  /** Items (by _id) refused for good (mapping error). */
  reject = new Set<string>();
  expectAuthorization?: string;
  private server?: Server;
  private hanging: ServerResponse[] = [];
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  private error(res: ServerResponse, status: number, type: string, reason: string): void {
    this.refusals.push(`${status} ${type}: ${reason}`);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status }));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.mode === 'hang') {
        this.hanging.push(res);
        return;
      }
      if (this.mode === 'down') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/2/no master];"},"status":503}');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method !== 'POST' && req.method !== 'PUT') return this.error(res, 405, 'method_not_allowed', `Incorrect HTTP method for uri [${url.pathname}]`);
      const m = /^(?:\/([^/_][^/]*))?\/_bulk$/.exec(url.pathname);
      if (!m) return this.error(res, 404, 'index_not_found_exception', `no such index [${url.pathname}]`);
      if (this.expectAuthorization && req.headers.authorization !== this.expectAuthorization) {
        return this.error(res, 401, 'security_exception', 'missing authentication credentials for REST request [/_bulk]');
      }
      const type = String(req.headers['content-type'] ?? '').split(';')[0].trim();
      if (type !== 'application/x-ndjson') return this.error(res, 406, 'content_type', `Content-Type header [${type}] is not supported`);
      const body = Buffer.concat(chunks).toString('utf8');
      if (!body.endsWith('\n')) return this.error(res, 400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
      const lines = body.slice(0, -1).split('\n');
      const seen: BulkRequestSeen = { authorization: req.headers.authorization, actions: [] };
      const items: Record<string, unknown>[] = [];
      let errors = false;
      for (let i = 0; i < lines.length; i++) {
        let action: Record<string, { _index?: string; _id?: string }>;
        try {
          action = JSON.parse(lines[i]) as typeof action;
        } catch {
          return this.error(res, 400, 'x_content_parse_exception', `[1:1] Unexpected character at line ${i + 1}`);
        }
        const keys = Object.keys(action);
        if (keys.length !== 1 || !['index', 'create', 'update', 'delete'].includes(keys[0])) {
          return this.error(res, 400, 'illegal_argument_exception', `Malformed action/metadata line [${i + 1}], expected START_OBJECT or END_OBJECT but found [${keys.join(',')}]`);
        }
        const op = keys[0];
        const meta = action[op];
        const index = meta._index ?? m[1];
        if (!index) return this.error(res, 400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;');
        if (index !== index.toLowerCase()) return this.error(res, 400, 'invalid_index_name_exception', `Invalid index name [${index}], must be lowercase`);
        let source: Record<string, unknown> | undefined;
        if (op !== 'delete') {
          i++;
          if (i >= lines.length) return this.error(res, 400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
          try {
            source = JSON.parse(lines[i]) as Record<string, unknown>;
          } catch {
            return this.error(res, 400, 'x_content_parse_exception', `[1:1] Unexpected character at line ${i + 1}`);
          }
          if (typeof source !== 'object' || source === null || Array.isArray(source)) return this.error(res, 400, 'x_content_parse_exception', 'the source must be an object');
        }
        seen.actions.push({ _index: index, _id: meta._id });
        const id = meta._id ?? `auto-${this.docs.size + i}`;
        const failing = this.failOnce.get(id);
        if (failing) {
          this.failOnce.delete(id);
          errors = true;
          items.push({ [op]: { _index: index, _id: id, status: failing, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution (queue capacity 200)' } } });
          continue;
        }
        if (this.reject.has(id)) {
          errors = true;
          items.push({ [op]: { _index: index, _id: id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [status]' } } });
          continue;
        }
        const key = `${index}/${id}`;
        const existed = this.docs.has(key);
        this.docs.set(key, source!);
        items.push({ [op]: { _index: index, _id: id, _version: 1, result: existed ? 'updated' : 'created', status: existed ? 200 : 201 } });
      }
      this.requests.push(seen);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ took: 3, errors, items }));
    });
  }
}
