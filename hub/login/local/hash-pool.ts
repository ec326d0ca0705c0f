// scrypt in a small pool of worker threads of its own. node:crypto's async scrypt runs on libuv's
// thread pool (4 threads), the same threads that run fs writes and fsyncs: a flood of logins
// would queue the audit log's and the store's fsyncs behind 128 MiB hashes. Here at most
// `workers` hashes run at once, each on its own thread, and at most `queue` wait; beyond that a
// login is refused at once (the hub stays up for everyone else). The threads run only on CPU time
// nothing else of the machine wants (SCHED_IDLE, below).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../../shared/errors/index.js';

// On Linux a thread has its own priority: hashing yields the cores to the hub's main thread, its
// fs threads and other processes (elsewhere the call would renice the whole hub: skipped). Nice 19
// was not enough on 2 cores: the CPU a hash ran on still counted as busy, so a waking main thread
// queued behind another runnable thread instead of taking that CPU (measured: a login flood
// doubled an admin's p99). Under SCHED_IDLE the kernel counts that CPU as idle and preempts the
// hash at once. Node cannot call sched_setscheduler itself: util-linux's chrt does it for the
// thread, once per thread; without chrt the thread stays at nice 19.
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
if (process.platform === 'linux') {
  try { require('node:os').setPriority(19); } catch {}
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop();
    require('node:child_process').execFileSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 5000 });
  } catch {}
}
parentPort.on('message', (m) => {
  try {
    const key = scryptSync(m.password, Buffer.from(m.salt), m.keylen, m.opts);
    parentPort.postMessage({ id: m.id, key });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
`;

export class HashPoolBusyError extends UnavailableError {
  constructor() {
    super('SF_AUTH_HASH_POOL_BUSY', 'too many logins are being checked right now: try again in a moment');
  }
}

interface Job {
  id: number;
  password: string;
  salt: Uint8Array;
  keylen: number;
  opts: { N: number; r: number; p: number; maxmem: number };
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

/**
 * The default number of hash threads: one less than the cores, at least 1 and at most 2. Each
 * hash keeps a core busy for its whole run; on a 2-core hub two of them took both cores for as
 * long as a flood lasted, and even at the lowest priority they slowed the main thread's answers.
 */
export function defaultHashThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(2, cores - 1));
}

export class HashPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly waiting: Job[] = [];
  private started = 0;
  private nextId = 1;

  constructor(
    public workers = defaultHashThreads(),
    public queue = 64,
  ) {}

  /** Sets the sizes from the hub's config (auth.password_hashing); idle threads beyond the new size end. */
  configure(workers: number, queue: number): void {
    this.workers = workers;
    this.queue = queue;
    while (this.started > this.workers && this.idle.length > 0) {
      void this.idle.pop()!.terminate();
      this.started--;
    }
  }

  get queued(): number {
    return this.waiting.length;
  }

  scrypt(password: string, salt: Uint8Array, keylen: number, opts: Job['opts']): Promise<Buffer> {
    if (this.waiting.length >= this.queue) return Promise.reject(new HashPoolBusyError());
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, password, salt, keylen, opts, resolve, reject });
      this.pump();
    });
  }

  /** Ends the threads (tests; a hub ends with its process). */
  async close(): Promise<void> {
    await Promise.all([...this.idle, ...this.busy.keys()].map((w) => w.terminate()));
    this.idle.length = 0;
    this.busy.clear();
    this.started = 0;
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.workers ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.waiting.shift()!;
      this.busy.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, password: job.password, salt: job.salt, keylen: job.keylen, opts: job.opts });
    }
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(WORKER, { eval: true });
    worker.on('message', (m: { id: number; key?: Uint8Array; error?: string }) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (job) {
        if (m.error !== undefined) job.reject(new Error(m.error));
        else job.resolve(Buffer.from(m.key!));
      }
      this.pump();
    });
    worker.on('error', (err) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      this.started--;
      job?.reject(err);
      this.pump();
    });
    worker.unref();
    return worker;
  }
}

/** The process's one pool for password hashes. */
export const passwordHashPool = new HashPool();
