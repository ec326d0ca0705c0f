// The binary's programs are scripts carried as assets, not its SEA main script: V8 keeps a
// script's source for the life of the process, and one script holding everything put the hub and
// the client commands (9 MB of source) into every agent. The main script (sea-entry.ts) is a few
// lines that run `sfleet-agent.cjs` for `sfleet agent ...` and `sfleet-cli.cjs` for the rest.
export const EMBEDDED_SCRIPTS = { cli: 'sfleet-cli.cjs', agent: 'sfleet-agent.cjs' } as const;
