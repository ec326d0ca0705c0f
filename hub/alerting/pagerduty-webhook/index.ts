export { signPagerDuty, verifyPagerDuty } from './signature.js';
export { parsePagerDutyEvent, type PagerDutyEvent } from './event.js';
