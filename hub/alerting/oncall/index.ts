// On-call schedules (weekly rotations, hand-off time and zone, overrides), as alerting.schedules
// configures them; escalation steps that name a schedule notify whoever is on call then.
export { scheduleFromConfig, scheduleProblems, validTimeZone, type ScheduleInput } from './from-config.js';
export { localToInstant, Schedule, type Handoff, type Override, type WeeklyRotation } from './schedule.js';
