// Runs one of the binary's embedded programs (embedded-script.ts) as Node runs a CommonJS file:
// its import() of built-ins (`import('node:sea')`, a dependency's `import('https')`) goes to
// Node's own loader. The SEA main script runs the agent's or the CLI's program with it, and the
// agent's program loads its optional parts (AGENT_PARTS) with it when first imported.
import Module from 'node:module';
import { getRawAsset } from 'node:sea';

/** Compiles and runs the embedded program `name`; returns its exports. */
export function loadEmbeddedProgram(name: string): unknown {
  const program = new Module(name) as Module & { _compile(source: string, filename: string): void };
  program.filename = name;
  // ASCII only (bundle.ts makes sure): read straight from the binary's mapped asset, one copy.
  program._compile(Buffer.from(getRawAsset(name) as ArrayBuffer).toString('latin1'), name);
  return program.exports;
}
