import type { Fleet } from '../fleet.js';
import type { PeerRegion } from '../region.js';

/**
 * What a scenario does: the fault, when the fleet counts as recovered, and the repair after.
 * A network fault (`network` set) is held and then healed: recovery_ms counts from the heal.
 */
export type Fault = {
  kill: () => Promise<void>;
  recovered: () => Promise<boolean>;
  restore: () => Promise<void>;
  network?: NetworkFault;
};

export interface NetworkFault {
  /** What must happen while the fault holds (another hub leads, the standby takes over); fault_ms. */
  during?: () => Promise<boolean>;
  /** How long the fault holds after `during` (default 2 s). */
  holdMs?: number;
  /** Removes the nftables rules (or the delay). */
  heal: () => Promise<void>;
  /** The bound on recovery after the heal. */
  targetMs: number;
  /** More figures for the summary, read after the recovery (the leader's step-down); an `error` fails it. */
  report?: () => Promise<Record<string, number | string>>;
}

/** What main.ts has beside the fleet: region B (netns mode, when a region scenario runs). */
export interface ScenarioContext {
  peer?: PeerRegion;
}

/** A scenario's name and how it finds its victim just before the fault. */
export type Scenario = [string, (fleet: Fleet, ctx: ScenarioContext) => Promise<Fault>];
