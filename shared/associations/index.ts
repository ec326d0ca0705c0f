export {
  AssociationRequestError,
  COUNT_KEYS,
  LIMIT_KEYS,
  TRES_NAMES,
  parseAssociationRequest,
  parseTres,
  sacctmgrSetArgs,
  type AssociationLimits,
  type AssociationRequest,
  type AssociationRow,
  type LimitKey,
} from './association.js';
