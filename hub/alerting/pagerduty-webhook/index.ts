export { matchingSecrets, signPagerDuty, verifyPagerDuty } from './signature.js';
export { parsePagerDutyEvent, type PagerDutyEvent } from './event.js';
export { applyPagerDutyEvent, PAGERDUTY_EVENT_MEMORY_MS, type PagerDutyOutcome, type PagerDutyTarget } from './apply.js';
