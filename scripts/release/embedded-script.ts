// The binary's programs are scripts carried as assets, not its SEA main script: V8 keeps a
// script's source for the life of the process, and one script holding everything put the hub and
// the client commands (9 MB of source) into every agent. The main script (sea-entry.ts) is a few
// lines that run `sfleet-agent.cjs` for `sfleet agent ...` and `sfleet-cli.cjs` for the rest.
export const EMBEDDED_SCRIPTS = { cli: 'sfleet-cli.cjs', agent: 'sfleet-agent.cjs' } as const;

// Parts of the agent it loads only when configured to, kept out of its program (V8 holds all of a
// program's source, run or not): each is a program of its own, compiled when first imported
// (bundle.ts). Keyed by source file. The tracing SDK runs only with tracing on; @peculiar/x509
// (with asn1js, tsyringe, reflect-metadata) only when a certificate renewal is due.
export const AGENT_PARTS: Readonly<Record<string, string>> = {
  'shared/tracing/sdk.ts': 'sfleet-agent-tracing.cjs',
  'shared/tls/csr.ts': 'sfleet-agent-csr.cjs',
};

// V8 flags the binary sets for `sfleet agent` alone, before its program compiles (they are not
// allowed in NODE_OPTIONS, and the SEA's execArgv would give them to the hub too). Measured on the
// binary's idle agent (3 alternating runs, 200 jobs polled every second): 86.5 -> 78.6 MiB RSS;
// polling 8,000 jobs every 5 s: the same CPU per poll (150-175 ms either way), RSS 100-107 -> 95
// MiB. --optimize-for-size makes V8 keep smaller heaps and code; --no-maglev leaves out the
// mid-tier compiler, whose code and buffers an agent that polls every few seconds does not need
// (TurboFan still optimizes hot code; --no-opt as well would save more but cost 60-70% CPU).
export const AGENT_V8_FLAGS: readonly string[] = ['--optimize-for-size', '--no-maglev'];
