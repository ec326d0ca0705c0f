// What the gate in server.ts put on a request (its principal and access), and the two rules every
// scope=global answer follows: ask the peer regions on the caller's behalf, then narrow again.
import type { FastifyRequest } from 'fastify';
import { FORWARDED_FILTERS_HEADER, type Visibility, type Principal } from '../../policy/index.js';

export function principal(request: FastifyRequest): Principal {
  return (request as FastifyRequest & { principal: Principal }).principal;
}

/** What this request may do and see (set by the gate in server.ts). */
export function access(request: FastifyRequest): Visibility {
  return (request as FastifyRequest & { access: Visibility }).access;
}

/** On a public route: the caller's access when it sent valid credentials, else undefined. */
export function optionalAccess(request: FastifyRequest): Visibility | undefined {
  return (request as FastifyRequest & { access?: Visibility | null }).access ?? undefined;
}

/** Runs the request's gate again (same credential, same permission): throws when it no longer passes, else what it may see now. */
export function recheck(request: FastifyRequest): Promise<Visibility> {
  return (request as FastifyRequest & { recheck: () => Promise<Visibility> }).recheck();
}

/** A global query asks the peers on the caller's behalf: they answer only what the caller may see. */
export function forwarded(request: FastifyRequest): Record<string, string> {
  return { [FORWARDED_FILTERS_HEADER]: access(request).forwardHeader() };
}

/** Defence in depth: a peer that ignored the forwarded filters must not widen the answer. */
export function narrowGlobal<T extends { items: Record<string, unknown>[] }>(answer: T, request: FastifyRequest, resource: string, kind: 'cluster' | 'job' | 'node' | 'partition'): T {
  const rows = access(request).globalRows(resource);
  return rows.unrestricted ? answer : { ...answer, items: answer.items.filter((i) => rows.allows(kind, i)) };
}
