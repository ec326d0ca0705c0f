// The hub's `regions:` section. Multi-region: the peer regions' hubs that a scope=global query
// asks (over HTTPS, mutual TLS).
import { z } from 'zod';
import { duration, tlsFiles } from '../../shared/config/index.js';

export const regionsConfigSchema = z
  .object({
    peers: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a region name: lower-case letters, digits and dashes').describe("The peer's region name (its hubs' `region`)."),
            url: z.string().regex(/^https:\/\/[^\s/]+\/?$/, "expected https://host:port of the peer region's API").describe("https://host:port of the peer region's API."),
            timeout: duration.default(2_000).describe('Per request to the peer; a slower region is left out of the answer (and named in it).'),
          })
          .strict(),
      )
      .default([])
      .refine((peers) => new Set(peers.map((p) => p.name)).size === peers.length, 'peer region names must be unique')
      .describe('The other regions.'),
    tls: tlsFiles.optional().describe("Client certificate and CA for the peers; default: the hub's own tls (hub certificates have clientAuth)."),
  })
  .strict();

export type RegionsConfig = z.infer<typeof regionsConfigSchema>;
