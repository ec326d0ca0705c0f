#!/usr/bin/env node
// Entry point of the sfleet command (built output in dist/).
import { main } from '../dist/cli/main.js';

const code = await main(process.argv);
// Long-running roles keep the event loop alive; one-shot commands exit with their code.
if (code !== 0) process.exit(code);
