// The heartbeat channel: a dead man's switch URL called while paging works.
export { Heartbeat, heartbeatSchema, type HeartbeatConfig } from './heartbeat.js';
