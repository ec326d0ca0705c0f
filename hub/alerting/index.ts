// Alerting: rules over the fleet state, Alertmanager-style routing, grouping, inhibition and
// silences, escalation policies, and the channels that page (see README.md).
export { Alerting, type AlertingDeps, type AlertView, type ScheduleView } from './alerting.js';
export { alertingConfigSchema, type AlertingConfig } from './config.js';
export type { AlertHistory, TimelineEntry } from './history.js';
export { BUILTIN_RULES } from './rules/index.js';
export type { DeliveryRecord } from './notify/index.js';
export type { Silence } from './silences/index.js';
export { matchingSecrets, parsePagerDutyEvent, signPagerDuty, verifyPagerDuty, type PagerDutyEvent, type PagerDutyOutcome } from './pagerduty-webhook/index.js';
export { AlertingLeaderUnavailableError, HttpsLeaderRelay, RELAYED_BY_HEADER, type LeaderRelay } from './group-link.js';
