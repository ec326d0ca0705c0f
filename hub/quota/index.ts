export { QuotaHistory, MAX_SERIES, type HistoryQuery, type HistorySeries, type QuotaHistoryOptions } from './history.js';
export { registerQuotaMetrics } from './metrics.js';
export { LIMITS, QuotaBook, type EnforcementView, type QuotaLine, type TenantQuotas } from './quotas.js';
export { registerQuotaRoutes } from './quota-routes.js';
export { scheduleAt, type ScheduleState } from './schedule.js';
export { arrayTaskCount, countedAs, tresOf, usageByTenant, type TenantUsage, type Usage } from './usage.js';
export { UsageCounts } from './usage-counts.js';
