// Fleet events (controller failover, down, up) as agents report them inside deltas.
export { comparePositions, EventLog, parseSince, type DeltaPosition, type Evicted, type EventLogOptions, type EventPosition, type EventQuery, type EventView } from './event-log.js';
