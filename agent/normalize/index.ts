// normalize: slurmrestd answers (v0.0.38 .. v0.0.44) -> the one shared model. Pure: no I/O.
// One adapter file per API version, each extending the previous one and listing the spec
// differences it handles at its top (v0.0.38.ts is the base of the chain).
import { SlurmResponseError } from '../../shared/errors/index.js';
import type { ApiVersion, VersionAdapter } from './adapter.js';
import { AdapterV0038 } from './v0.0.38.js';
import { AdapterV0039 } from './v0.0.39.js';
import { AdapterV0040 } from './v0.0.40.js';
import { AdapterV0041 } from './v0.0.41.js';
import { AdapterV0042 } from './v0.0.42.js';
import { AdapterV0043 } from './v0.0.43.js';
import { AdapterV0044 } from './v0.0.44.js';

export type { ApiVersion, DiagSummary, VersionAdapter } from './adapter.js';
export { checkSlurmAnswer, parseSlurmResponse, type ParsedResponse } from './response.js';
export { ListStream, type ListLimits } from './list-stream.js';
export { ElementCache, streamedList, type StreamedList } from './streamed-list.js';
export { JOB_BASE_STATES, NODE_BASE_STATES } from './slurm-values.js';

/** Oldest to newest. */
export const SUPPORTED_VERSIONS: readonly ApiVersion[] = Object.freeze([
  'v0.0.38',
  'v0.0.39',
  'v0.0.40',
  'v0.0.41',
  'v0.0.42',
  'v0.0.43',
  'v0.0.44',
] as const);

// Adapters hold no state, so one instance per version is shared.
const ADAPTERS: Readonly<Record<ApiVersion, VersionAdapter>> = Object.freeze({
  'v0.0.38': new AdapterV0038(),
  'v0.0.39': new AdapterV0039(),
  'v0.0.40': new AdapterV0040(),
  'v0.0.41': new AdapterV0041(),
  'v0.0.42': new AdapterV0042(),
  'v0.0.43': new AdapterV0043(),
  'v0.0.44': new AdapterV0044(),
});

export function isSupportedVersion(version: string): version is ApiVersion {
  return Object.prototype.hasOwnProperty.call(ADAPTERS, version);
}

/**
 * The adapter of one API version ("v0.0.41"; "0.0.41" is accepted too). Anything else throws
 * SlurmResponseError naming the supported versions.
 */
export function adapterFor(version: string): VersionAdapter {
  const v = version.startsWith('v') ? version : `v${version}`;
  if (isSupportedVersion(v)) return ADAPTERS[v];
  throw new SlurmResponseError(
    `unsupported slurmrestd API version "${version.slice(0, 40)}": supported are ${SUPPORTED_VERSIONS.join(', ')}`,
    { version: version.slice(0, 40) },
  );
}
