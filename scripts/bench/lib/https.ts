// The hub's HTTPS API from the bench: client certificate of the fleet CA, keep-alive, and the
// Server-Sent-Events watch stream parsed as it arrives.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { TlsFiles } from '../../../shared/tls/index.js';

export interface SseEvent {
  id: string;
  event: string;
  data: string;
  /** Date.now() when its last line arrived. */
  at: number;
}

export class HubApi {
  private readonly agent: https.Agent;

  constructor(
    readonly url: string,
    tls: TlsFiles,
    sockets = 8,
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: sockets,
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      minVersion: 'TLSv1.3',
    });
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.get(`${this.url}${path}`, { agent: this.agent, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
      req.on('error', reject);
    });
  }

  async json<T>(path: string): Promise<T> {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as T;
  }

  /** Opens the watch stream; onEvent gets each event. Resolves once the stream is open. */
  watch(query: string, onEvent: (e: SseEvent) => void): Promise<{ close(): void }> {
    return new Promise((resolve, reject) => {
      const req = https.get(`${this.url}/api/v1/watch?${query}`, { agent: this.agent, headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = Date.now();
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const e: SseEvent = { id: '', event: 'message', data: '', at };
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) e.id = line.slice(4);
              else if (line.startsWith('event: ')) e.event = line.slice(7);
              else if (line.startsWith('data: ')) e.data += line.slice(6);
            }
            // An id alone (the watch's opening place) is no event.
            if (e.data) onEvent(e);
          }
        });
        res.on('error', () => undefined);
        resolve({ close: () => req.destroy() });
      });
      req.on('error', (err) => reject(err));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
