// Parent <-> child calls over Node's IPC channel. A bench child (`children/*.ts`) serves named
// methods; the parent forks it, waits for "ready" and calls them. Children die with the parent.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (args: any) => unknown;

interface CallMessage {
  kind: 'call';
  id: number;
  method: string;
  args: unknown;
}
interface ReplyMessage {
  kind: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}
interface EventMessage {
  kind: 'event';
  name: string;
  value: unknown;
}
interface ReadyMessage {
  kind: 'ready';
  value: unknown;
}
type ChildMessage = ReplyMessage | EventMessage | ReadyMessage;

const CHILDREN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'children');

/** In a child: answer the parent's calls, then say ready with `value`. Exits when the parent goes. */
export function serve(methods: Record<string, Handler>, ready: unknown = {}): void {
  if (!process.send) throw new Error('a bench child must be started by the bench (no IPC channel)');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw: unknown) => {
    const msg = raw as CallMessage;
    if (msg?.kind !== 'call') return;
    const handler = methods[msg.method];
    void (async () => {
      try {
        if (!handler) throw new Error(`no method ${msg.method}`);
        const value = await handler(msg.args);
        process.send!({ kind: 'reply', id: msg.id, ok: true, value } satisfies ReplyMessage);
      } catch (err) {
        process.send!({ kind: 'reply', id: msg.id, ok: false, error: (err as Error).stack ?? String(err) } satisfies ReplyMessage);
      }
    })();
  });
  process.send({ kind: 'ready', value: ready } satisfies ReadyMessage);
}

/** In a child: tell the parent something happened (with the time it happened). */
export function emit(name: string, value: unknown): void {
  process.send?.({ kind: 'event', name, value } satisfies EventMessage);
}

export class Child<R = unknown> {
  readonly pid: number;
  ready!: R;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, ((value: unknown) => void)[]>();
  private exited = false;
  readonly exit: Promise<number | null>;
  private stderrTail = '';

  private constructor(readonly name: string, readonly proc: ChildProcess) {
    this.pid = proc.pid!;
    this.exit = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exited = true;
        const why = new Error(`bench child ${name} exited (${signal ?? code})${this.stderrTail ? `: ${this.stderrTail.slice(-1500)}` : ''}`);
        for (const p of this.pending.values()) p.reject(why);
        this.pending.clear();
        resolve(code);
      });
    });
    proc.on('message', (raw: unknown) => {
      const msg = raw as ChildMessage;
      if (msg.kind === 'reply') {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new Error(`${name}: ${msg.error}`));
      } else if (msg.kind === 'event') {
        for (const l of this.listeners.get(msg.name) ?? []) l(msg.value);
      }
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
      if (process.env.SFLEET_BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
    });
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (process.env.SFLEET_BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
    });
  }

  /** Forks children/<script>.js with args; resolves once it says ready. */
  static async start<R>(script: string, args: Record<string, unknown>, opts: { execArgv?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Child<R>> {
    const proc = fork(join(CHILDREN_DIR, `${script}.js`), [JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: opts.execArgv ?? [],
      env: opts.env ?? process.env,
    });
    const child = new Child<R>(script, proc);
    child.ready = await new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench child ${script} not ready in time`)), opts.timeoutMs ?? 120_000);
      proc.on('message', (raw: unknown) => {
        const msg = raw as ChildMessage;
        if (msg.kind === 'ready') {
          clearTimeout(timer);
          resolve(msg.value as R);
        }
      });
      void child.exit.then(() => {
        clearTimeout(timer);
        reject(new Error(`bench child ${script} exited before it was ready: ${child.stderrTail.slice(-1500)}`));
      });
    });
    return child;
  }

  call<T = unknown>(method: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`bench child ${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ kind: 'call', id, method, args } satisfies CallMessage);
    });
  }

  on(name: string, listener: (value: unknown) => void): void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Asks nicely (the `stop` method when it has one), then SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      await this.call('stop').catch(() => undefined);
      this.proc.disconnect?.();
    } finally {
      await this.exit;
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGKILL');
    await this.exit;
  }
}

/** The args a child was started with. */
export function childArgs<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}
