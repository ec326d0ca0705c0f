export { KeyRotationSchedule, type CheckOutcome, type KeyRotationDeps, type KeyRotationOptions, type RotationRecord } from './rotation-schedule.js';
