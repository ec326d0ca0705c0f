export { IngestRegistry, type IngestDeps } from './agent-session.js';
