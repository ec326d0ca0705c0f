// `sfleet watch | head`: once the reader has what it wants it closes the pipe, and the next write
// fails with EPIPE, asynchronously, as an 'error' event on stdout. Unhandled, that is a stack
// trace on the terminal. A client command whose output nobody reads anymore is done: exit 0,
// quietly, like the Unix tools. Servers (hub, agent) keep Node's default: losing their log
// output is a failure their supervisor must see.
const SERVER_ROLES = new Set(['hub', 'agent']);

export function exitQuietlyOnClosedPipe(argv: readonly string[]): void {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command && SERVER_ROLES.has(command)) return;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
