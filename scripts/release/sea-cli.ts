// Embedded program `sfleet-cli.cjs`: every command (sea-entry.ts runs it).
import { main } from '../../cli/main.js';

void main(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
});
