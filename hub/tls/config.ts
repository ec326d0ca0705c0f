// The hub's `tls:` section: its own certificate for both listeners, the fleet CA that client
// certificates must chain to, and (optionally) the CA key that renews agent certificates.
import { z } from 'zod';
import { duration, tlsFiles } from '../../shared/config/index.js';

export const hubTlsConfigSchema = tlsFiles.extend({
  ca_key: z.string().min(1).optional().describe("The fleet CA's private key: with it the hub renews agent certificates (CSR over the stream)."),
  issued_lifetime: duration.refine((ms) => ms >= 10_000, 'at least 10s').default(30 * 86_400_000).describe('Validity of the certificates the hub issues on renewal.'),
});
