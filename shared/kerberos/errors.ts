// Why a Negotiate token was refused. The message goes to the log and the audit record; the caller
// only learns that Kerberos authentication failed (no oracle for token forgers).
export class KerberosTokenError extends Error {
  override readonly name = 'KerberosTokenError';
}
