export { AtRest, createProvider, setAside, type StoredFileInfo } from './at-rest.js';
export { encryptionConfigSchema, type EncryptionConfig } from './config.js';
export { parsePrefix, PREFIX_BYTES, readPrefix, type EnvelopeHeader } from './envelope.js';
export { KeyConfigError, KeyServiceError, KeyUnavailableError, TamperedDataError } from './errors.js';
export { EnvKeyProvider } from './env-key-provider.js';
export { FileKeyProvider } from './file-key-provider.js';
export type { KeyProvider, ProviderKind, WrappedDek } from './key-provider.js';
export { VaultTransitProvider, type VaultTransitOptions } from './vault-transit-provider.js';
