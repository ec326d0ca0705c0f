// Point-in-time recovery: the change log of the durable stores, shipped between backups, replayed on restore.
export { ChangeLog, PITR_DIR, type ChangeEntry } from './change-log.js';
export { ChangeShipper, type ShipStatus } from './shipper.js';
export { applyReplay, fetchReplay } from './replay.js';
export { listChanges, listEpochs, stamp, type ShippedChanges } from './shipped.js';
export { registerShipMetrics } from './metrics.js';
export { isEpochId, readEpoch, type Epoch, type ReplayStep, type RestorePlan } from './epoch.js';
export { planAt, replayPlan } from './plan.js';
export { ETCD_CHANGES_PURPOSE, etcdChangesSingleton } from './etcd-changes.js';
