// slurmrestd as a SlurmSource: transport (TCP or unix socket, JWT), endpoint pool (health checks,
// failover or round robin, controller events), version negotiation, 304-aware polling and commands.
export { RestSource, serverTime, type RestSourceOptions } from './rest-source.js';
export { RestTransport, type RestAuth, type TransportOptions } from './transport.js';
export type { BodySink, RestRequest, RestResponse } from './rest-exchange.js';
export { negotiateVersion, versionsInSpec, compareVersions, type Negotiated } from './negotiate.js';
export { EndpointPool, STICKY, type EndpointStatus, type LoadBalancing, type LoadBalancingStrategy, type Probe } from './endpoint-pool.js';
export { controllerEvent, SlurmctldWatch, type ControllerEventType, type EventSeverity } from './controller-events.js';
export { pathTemplate, SLURMRESTD_ERROR_KINDS, SlurmrestdStats, type SlurmrestdErrorKind } from './request-stats.js';
