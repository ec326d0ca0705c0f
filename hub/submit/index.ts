export { Admission, requestOf } from './admission.js';
export { submitConfigSchema, type SubmitConfig } from './config.js';
export { QuotaExceededError, type QuotaRefusal } from './errors.js';
export { registerSubmitRoute } from './submit-route.js';
export { SubmitService, type SubmitAnswer } from './submit-service.js';
