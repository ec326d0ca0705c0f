// On-call schedules (weekly rotations, hand-off time and zone, overrides). Not yet read by
// the config or the escalation: the building block for the full escalation form.
export { localToInstant, Schedule, type Handoff, type Override, type WeeklyRotation } from './schedule.js';
