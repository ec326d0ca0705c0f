export { FastDeltaDecoder, sameStructure, type PreviousObjects } from './fast-decode.js';
export { FIELD_TABLE, type FieldSpec, type FieldType } from './field-table.js';
