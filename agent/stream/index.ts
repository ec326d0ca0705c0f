export { HubStream, type HubStreamOptions, type HubStreamDeps } from './hub-stream.js';
