export { LIMIT_CEILINGS, multiTenancyConfigSchema, quotaScheduleSchema, resourceLimitsSchema, type MultiTenancyConfig, type QuotaSchedule, type ResourceLimits, type TenantConfig } from './config.js';
export { localClusterGlobs, Tenancy, tenantAlertRoutes, type Membership } from './tenancy.js';
export { globOverlap, ownershipClashes, type OwnershipClash } from './clash.js';
