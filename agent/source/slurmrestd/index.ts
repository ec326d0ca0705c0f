// slurmrestd as a SlurmSource: transport (TCP or unix socket, JWT, failover), version
// negotiation, 304-aware polling and commands.
export { RestSource, serverTime, type RestSourceOptions } from './rest-source.js';
export { RestTransport, type RestAuth, type RestRequest, type RestResponse, type TransportOptions } from './transport.js';
export { negotiateVersion, versionsInSpec, compareVersions, type Negotiated } from './negotiate.js';
