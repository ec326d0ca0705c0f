// Typed errors, rendered in one place each: toProblem() for HTTP, toGrpcStatus() for gRPC.
// Handlers throw these; messages are safe to show (never a secret, never a stack).
// Every class that can be thrown has one fixed code (or a fixed set, CertificateRequestError)
// and is listed in the hub's catalogue (hub/errors/), from which docs/errors.md is generated;
// abstract classes are the shared shapes (status pairs) those classes are built from.
export * from './catalogue.js';
export * from './fleet-error.js';
export * from './render.js';
