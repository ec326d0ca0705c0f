// Embedded program `sfleet-agent.cjs`: `sfleet agent ...` alone (sea-entry.ts runs it).
import { agentMain } from '../../cli/agent-main.js';

void agentMain(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
});
