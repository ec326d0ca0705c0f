export { ENFORCER_USER, QuotaEnforcer, type EnforcerDeps } from './enforcer.js';
export { isHeld, planHolds, pruneHeld, type HeldEntry, type HoldAction, type LimitHit } from './hold-plan.js';
