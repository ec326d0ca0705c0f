export { CredentialWatcher, checkRotatedMaterial, watchListenerCredentials } from './credential-watcher.js';
export { RevocationWatcher } from './revocation-watcher.js';
export { watchFiles, type FileWatchOptions } from './file-watch.js';
