// The chaos delayer: a TCP relay run in its own network namespace on the agent->hub path
// (`node delayer.js '<json>'`, started by delayer-process.ts). This kernel has no netem, so latency
// is made here, at the TCP stream level: each chunk read from one side is held `delay` ms, in
// order, before it is written to the other side. It is not per packet: TCP's own acks and
// retransmits on each leg see no delay, only the application's bytes do.
// SIGUSR1 sets the delay to DELAY_MS (200), SIGUSR2 back to 0. Prints "ready" once listening.
import { connect, createServer, type Socket } from 'node:net';

const DELAY_MS = 200;

interface Route {
  listen: string;
  port: number;
  host: string;
  targetPort: number;
}

let delay = 0;

/** Writes chunks to `to` in the order they came, each no earlier than its arrival + the delay then. */
function delayedPipe(from: Socket, to: Socket): void {
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    timer = undefined;
    const now = Date.now();
    while (queue.length && queue[0].due <= now) to.write(queue.shift()!.chunk);
    if (queue.length) timer = setTimeout(drain, queue[0].due - now);
    else if (from.readableEnded) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ due: Date.now() + delay, chunk });
    if (!timer) timer = setTimeout(drain, Math.max(0, queue[0].due - Date.now()));
  });
  from.on('end', () => {
    if (!queue.length && !timer) to.end();
  });
}

function relay(route: Route): Promise<void> {
  const server = createServer((client) => {
    const upstream = connect(route.targetPort, route.host);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    delayedPipe(client, upstream);
    delayedPipe(upstream, client);
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(route.port, route.listen, () => resolve()));
}

const routes = JSON.parse(process.argv[2] ?? '[]') as Route[];
process.on('SIGUSR1', () => (delay = DELAY_MS));
process.on('SIGUSR2', () => (delay = 0));
Promise.all(routes.map(relay)).then(
  () => process.stdout.write('ready\n'),
  (err: unknown) => {
    process.stderr.write(`delayer: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
