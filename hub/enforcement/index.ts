export { ENFORCER_USER } from './actor.js';
export { QuotaEnforcer, type EnforcerDeps } from './enforcer.js';
export { isHeld, planHolds, pruneHeld, type HeldEntry, type HoldAction, type LimitHit } from './hold-plan.js';
export { SlurmLimitEnforcer, type SlurmLimitDeps, type SlurmLimitStatus } from './slurm-limits.js';
export { desiredAssociations, planAssociations, splitByShares, toAssociationLimits, type DesiredAssociation, type OwnedAssociation, type SlurmAction } from './slurm-plan.js';
