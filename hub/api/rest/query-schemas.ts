// Schema pieces several routes share, so a parameter means the same on every route.
export const str = { type: 'string', maxLength: 256 } as const;
const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 5000 },
  cursor: { type: 'string', maxLength: 512 },
} as const;
/** region (default): this region's hubs only; global: merged with every peer region (regions.peers). */
export const scopeQuery = { scope: { type: 'string', enum: ['region', 'global'] } } as const;
/** A global page's cursor carries one cursor per region. */
export const globalPageQuery = { ...pageQuery, cursor: { type: 'string', maxLength: 8192 } } as const;
