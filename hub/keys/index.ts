export { KeyRotationSchedule, groupKeyVersion, readRotationRecord, rotationCheckMs, type CheckOutcome, type KeyRotationDeps, type KeyRotationOptions, type RotationRecord } from './rotation-schedule.js';
export { KeyRewrap, type KeyRewrapDeps, type KeyVersions, type RewrapOutcome, type WrappedKeyStore } from './key-rewrap.js';
