export { checkSubmitSpec, gpuCount, jobEnvironment, MAX_SCRIPT_BYTES, type SubmitSpec } from './spec.js';
export { checkSubmitUser, lookupUser, type PasswdEntry, type SubmitUserRules } from './user.js';
