// The generated documents: each a path in the repository and how to render it. The generator
// (generate.ts) writes them; docs-current.test.ts fails when a committed one differs.
import { ERROR_CATALOGUE } from '../../hub/errors/index.js';
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
];
