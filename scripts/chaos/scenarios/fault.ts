import type { Fleet } from '../fleet.js';

/** What a scenario does: the fault, when the fleet counts as recovered, and the repair after. */
export type Fault = { kill: () => Promise<void>; recovered: () => Promise<boolean>; restore: () => Promise<void> };

/** A scenario's name and how it finds its victim just before the fault. */
export type Scenario = [string, (fleet: Fleet) => Promise<Fault>];
