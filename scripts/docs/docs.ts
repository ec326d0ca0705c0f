// The generated documents: each a path in the repository and how to render it. The generator
// (generate.ts) writes them; docs-current.test.ts fails when a committed one differs.
import { ERROR_CATALOGUE } from '../../hub/errors/index.js';
import { avroSchemaOf, KIND_SPECS } from '../../hub/export/index.js';
import { renderConfigDoc } from './config-md.js';
import { renderErrorsDoc } from './errors-doc.js';

export interface GeneratedDoc {
  /** Relative to the repository root. */
  path: string;
  render: () => string;
}

export const GENERATED_DOCS: readonly GeneratedDoc[] = [
  { path: 'docs/errors.md', render: () => renderErrorsDoc(ERROR_CATALOGUE) },
  { path: 'docs/config.md', render: renderConfigDoc },
  // The published Avro schemas of export jobs|nodes|events|audit (history's is hub/export/history-avro.ts).
  ...Object.entries(KIND_SPECS).map(([kind, spec]) => ({ path: `docs/schemas/${kind}-export.avsc`, render: () => `${JSON.stringify(avroSchemaOf(spec), null, 2)}\n` })),
];
