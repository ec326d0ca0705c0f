// Limits on what a caller can make the hub spend (issue 12): the `http:` and `limits:` sections,
// connection caps on the HTTPS and gRPC listeners, and the watch stream budget.
export { httpConfigSchema, limitsConfigSchema, type HttpConfig, type LimitsConfig } from './config.js';
export { addressList, ConnectionLimiter, matches, type ConnectionLimitOptions } from './connection-limits.js';
export { listenGrpc, type GrpcListener } from './grpc-listener.js';
export { ByteBudget, InFlightBudgetError } from './byte-budget.js';
export { applyHeapFootprint, applyHeapGrowth } from './heap-growth.js';
export { ConnectionActivity } from './connection-activity.js';
