// Controller events: things that happened to a cluster's controllers, as FleetEvents that ride
// the agent's spool to the hub (exactly once by seq) and become alert sources there.
//   controller_down      an endpoint (slurmrestd) or a slurmctld stopped answering (also when
//                        slurmrestd answers ping with a 5xx because it cannot reach slurmctld)
//   controller_up        it answers again
//   controller_failover  the agent (slurmrestd) or Slurm (slurmctld) moved to another controller
// `attributes.component` says which: "slurmrestd" (endpoint, from_endpoint, to_endpoint) or
// "slurmctld" (controller, from_controller, to_controller). Endpoint URLs carry no credentials:
// the transport keeps only scheme, host and port (or the unix socket path).
import { randomUUID } from 'node:crypto';
import type { FleetEvent } from '../../../generated/fleet/v1/agent.js';
import type { ControllerHealth } from '../../../shared/model/index.js';
import { isSlurmAuthRefusal } from '../../normalize/response.js';

export type ControllerEventType = 'controller_failover' | 'controller_down' | 'controller_up';
export type EventSeverity = 'info' | 'warning' | 'critical';

export interface EventStamp {
  cluster: string;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** Event ids; default a random UUID. */
  newId?: () => string;
}

export function controllerEvent(
  stamp: EventStamp,
  type: ControllerEventType,
  severity: EventSeverity,
  message: string,
  attributes: Record<string, string>,
): FleetEvent {
  return {
    id: (stamp.newId ?? randomUUID)(),
    cluster: stamp.cluster,
    type,
    severity,
    message,
    occurred_at: new Date((stamp.clock ?? Date.now)()).toISOString(),
    attributes,
  };
}

/**
 * The slurmctld side: what slurmrestd's ping says about the primary and backup controllers.
 * The first observation is the baseline (no events: an agent restart must not repeat them);
 * after that a controller that stops responding is controller_down, one that responds again
 * controller_up, and a change of the controller in charge (the first responding one, primary
 * first) controller_failover.
 */
export class SlurmctldWatch {
  private responding?: Map<string, boolean>;
  private inCharge?: string;

  constructor(private readonly stamp: EventStamp) {}

  observe(controllers: readonly ControllerHealth[]): FleetEvent[] {
    if (controllers.length === 0) return [];
    const ordered = [...controllers].sort((a, b) => rank(a) - rank(b));
    const now = new Map(ordered.map((c) => [c.hostname, c.responding]));
    const inCharge = ordered.find((c) => c.responding)?.hostname;
    const before = this.responding;
    const previousInCharge = this.inCharge;
    this.responding = now;
    // With nobody responding, the last one in charge is still the one a takeover moves from.
    this.inCharge = inCharge ?? previousInCharge;
    if (!before) return [];

    const events: FleetEvent[] = [];
    const modeOf = new Map(ordered.map((c) => [c.hostname, c.mode || 'unknown']));
    for (const [host, ok] of now) {
      const was = before.get(host);
      if (was === undefined || was === ok) continue;
      const mode = modeOf.get(host)!;
      if (!ok) {
        const others = [...now].some(([h, r]) => h !== host && r);
        events.push(
          controllerEvent(this.stamp, 'controller_down', others ? 'warning' : 'critical', `slurmctld ${host} (${mode}) is not responding`, {
            component: 'slurmctld',
            controller: host,
            mode,
            reason: 'ping: not responding',
          }),
        );
      } else {
        events.push(controllerEvent(this.stamp, 'controller_up', 'info', `slurmctld ${host} (${mode}) is responding again`, { component: 'slurmctld', controller: host, mode, reason: 'ping: responding' }));
      }
    }
    if (inCharge && previousInCharge && inCharge !== previousInCharge) {
      const backToPrimary = modeOf.get(inCharge) === 'primary';
      const reason = backToPrimary ? `primary ${inCharge} is responding again` : `${previousInCharge} is not responding; ${modeOf.get(inCharge)} ${inCharge} took over`;
      events.push(
        controllerEvent(this.stamp, 'controller_failover', backToPrimary ? 'info' : 'warning', `slurmctld in charge moved from ${previousInCharge} to ${inCharge}: ${reason}`, {
          component: 'slurmctld',
          from_controller: previousInCharge,
          to_controller: inCharge,
          reason,
        }),
      );
    }
    return events;
  }
}

function rank(c: ControllerHealth): number {
  return c.mode === 'primary' ? 0 : 1;
}

/**
 * slurmrestd answered, but with a 5xx and Slurm's own errors: it cannot reach slurmctld (22.05
 * says "slurmctld config is unable to load", others "Unable to contact slurm controller").
 * Then the controllers are down, not the agent's connection to slurmrestd. A refused JWT (also a
 * 5xx on some versions) is not: an expired token must not page the cluster as down.
 */
export function slurmctldUnreachable(err: unknown): err is Error & { status: number } {
  const status = (err as { status?: unknown } | undefined)?.status;
  if (isSlurmAuthRefusal(err)) return false;
  return err instanceof Error && typeof status === 'number' && status >= 500 && /\(HTTP 5\d\d\): /.test(err.message);
}

/** The controllers last seen, none of them answering now: what the hub sees while slurmctld is down. */
export function unreachableControllers(known: readonly ControllerHealth[], observedAt: string): ControllerHealth[] {
  return known.map((c) => ({ ...c, responding: false, observed_at: observedAt }));
}
