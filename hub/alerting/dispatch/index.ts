// Dispatch: routes, groups, inhibition and escalation.
export { Inhibitor } from './inhibit.js';
export { Pager, type GroupState, type NotificationStatus, type Send } from './pager.js';
export { parseRecipientKey, recipientKey, Recipients, type Recipient } from './recipients.js';
export { Router, shortHash, type Target, type TenantRoutes } from './routing.js';
