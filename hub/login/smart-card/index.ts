// Smart-card (PKI) logins: person certificates of an enterprise CA, on a listener of their own.
export { CARD_KEY_USAGES, CARD_NAME_SOURCES, type CardKeyUsage, smartCardConfigSchema, type CardNameSource, type SmartCardConfig } from './config.js';
export { cardUser, keyUsageProblem, SmartCardRefusedError, type CardUser } from './card-user.js';
export { readCardTrust, type CardTrust } from './card-trust.js';
export { SMART_CARD_LOGIN_PATH, SmartCardLogin, type SmartCardDeps } from './smart-card-login.js';
