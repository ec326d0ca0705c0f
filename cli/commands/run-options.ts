// What the long-running roles (hub, agent) share on the command line: repeatable --set, named
// flags as shorthands for config keys, and a clean stop on SIGINT/SIGTERM.

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Named flags are shorthands for --set key=value. */
export function overrides(opts: Record<string, unknown>, names: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [flag, key] of Object.entries(names)) if (opts[flag] !== undefined) out.push(`${key}=${String(opts[flag])}`);
  return [...out, ...((opts.set as string[]) ?? [])];
}

export function untilSignal(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string): void => {
    if (closing) return;
    closing = true;
    process.stderr.write(`${signal}: shutting down\n`);
    void close().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
