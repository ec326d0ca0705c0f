// Fleet events (controller failover, down, up) as agents report them inside deltas.
export { EventLog, parseSince, type DeltaPosition, type EventLogOptions, type EventPosition, type EventQuery, type EventView } from './event-log.js';
