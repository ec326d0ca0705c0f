// The shape of the error catalogue (hub/errors/) that docs/errors.md is generated from: one
// entry per code, with an instance as thrown, so the code, HTTP status and gRPC code in the
// doc are the class's own and cannot drift from it.
import type { FleetError } from './fleet-error.js';

export interface ErrorEntry {
  /** An instance as handlers throw it (any safe message). */
  readonly example: () => FleetError;
  /** For the caller: what happened and what to do about it. */
  readonly meaning: string;
}

/** The entries of one area (a folder that throws them), under a heading of the doc. */
export interface ErrorArea {
  readonly area: string;
  readonly entries: readonly ErrorEntry[];
}

/**
 * SF_<AREA>_<WHAT>, upper snake case. SF_INTERNAL predates the rule and stays, since clients
 * match on it.
 */
export const ERROR_CODE_PATTERN = /^SF_[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;
export const GRANDFATHERED_CODES: readonly string[] = ['SF_INTERNAL'];
