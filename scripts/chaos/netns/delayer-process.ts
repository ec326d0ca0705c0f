// The parent side of the delayer (delayer.ts): starts it in its namespace with one route per hub
// and switches the 200 ms delay on and off by signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from './net.js';

const FIRST_PORT = 7001;

export class Delayer {
  private child?: ChildProcess;
  /** The addresses the agents dial, one per hub in the hubs' order. */
  endpoints: string[] = [];

  constructor(
    readonly node: Node,
    private readonly logFile: string,
  ) {}

  async start(hubs: { host: string; port: number }[]): Promise<void> {
    const routes = hubs.map((h, i) => ({ listen: this.node.address, port: FIRST_PORT + i, host: h.host, targetPort: h.port }));
    this.endpoints = routes.map((r) => `${r.listen}:${r.port}`);
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'delayer.js');
    const child = spawn('ip', ['netns', 'exec', this.node.ns, process.execPath, script, JSON.stringify(routes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.pipe(createWriteStream(this.logFile, { flags: 'a' }));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (String(d).includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the delayer exited (${code}) before it was ready: see ${this.logFile}`)));
    });
  }

  /** 200 ms on every chunk both ways (on) or none (off). */
  set(on: boolean): void {
    this.child?.kill(on ? 'SIGUSR1' : 'SIGUSR2');
  }

  stop(): void {
    this.child?.kill('SIGKILL');
  }
}
