export { Admission, requestOf, type AdmissionControl } from './admission.js';
export { SharedAdmission } from './shared-admission.js';
export { submitConfigSchema, type SubmitConfig } from './config.js';
export { AdmissionUnavailableError, QuotaExceededError, type QuotaRefusal } from './errors.js';
export { registerSubmitRoute } from './submit-route.js';
export { SubmitService, type SubmitAnswer } from './submit-service.js';
