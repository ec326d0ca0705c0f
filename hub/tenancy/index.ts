export { LIMIT_CEILINGS, multiTenancyConfigSchema, resourceLimitsSchema, type MultiTenancyConfig, type ResourceLimits, type TenantConfig } from './config.js';
export { Tenancy, type Membership } from './tenancy.js';
