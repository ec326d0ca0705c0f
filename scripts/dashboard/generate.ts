// npm run dashboard:client: writes the dashboard's client types from the hub's OpenAPI document.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_PATH, generateClientTypes } from './hub-client.js';

const root = join(import.meta.dirname, '..', '..', ...(import.meta.dirname.includes('/dist/') ? ['..'] : []));
writeFileSync(join(root, CLIENT_PATH), await generateClientTypes());
console.log(`wrote ${CLIENT_PATH}`);
