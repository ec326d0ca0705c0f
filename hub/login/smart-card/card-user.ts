// Which person a card certificate names: its UPN, e-mail or a subject attribute, in the order
// auth.smart_card.map_from gives. Read from the DER with @peculiar/x509, not from Node's
// printed subjectAltName: a printed value could carry ", email:" of its own.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { normalizeSerial } from '../../../shared/tls/index.js';
import { CredentialRefusedError } from '../errors.js';
import { CARD_KEY_USAGES, type CardKeyUsage, type CardNameSource, type SmartCardConfig } from './config.js';

/** A card was refused: 401, audited as a failed login. */
export class SmartCardRefusedError extends CredentialRefusedError {
  constructor(message: string) {
    super('SF_AUTH_SMART_CARD_REFUSED', message);
  }
}

export interface CardUser {
  name: string;
  from: CardNameSource;
  /** Normalized serial (lower-case hex): what the CRL lists. */
  serial: string;
  subject: string;
}

const USER_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const EMAIL_OID = '1.2.840.113549.1.9.1';
const SUBJECT_OIDS: Record<SmartCardConfig['subject_attribute'], string> = { CN: '2.5.4.3', UID: '0.9.2342.19200300.100.1.1', emailAddress: EMAIL_OID, serialNumber: '2.5.4.5' };

type Mapping = Pick<SmartCardConfig, 'map_from' | 'subject_attribute' | 'strip_domain' | 'domains'>;

export function cardUser(der: Buffer, config: Mapping): CardUser {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch (err) {
    throw new SmartCardRefusedError(`the client certificate cannot be read: ${(err as Error).message}`);
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const subjectValues = (oid: string): string[] => cert.subjectName.getField(oid).filter((v) => typeof v === 'string' && v !== '');
  const serial = normalizeSerial(cert.serialNumber);
  const tried: string[] = [];
  for (const from of config.map_from) {
    const candidates =
      from === 'upn'
        ? names.filter((n) => n.type === 'upn').map((n) => n.value)
        : from === 'email'
          ? [...names.filter((n) => n.type === 'email').map((n) => n.value), ...subjectValues(EMAIL_OID)]
          : subjectValues(SUBJECT_OIDS[config.subject_attribute]);
    if (candidates.length === 0) {
      tried.push(`no ${from === 'subject' ? `subject ${config.subject_attribute}` : from}`);
      continue;
    }
    // One name per source: two UPNs on one card would make the person ambiguous.
    if (new Set(candidates.map((c) => c.toLowerCase())).size > 1) throw new SmartCardRefusedError(`the certificate holds more than one ${from}: ${candidates.join(', ')}`);
    return { name: userName(candidates[0]!, from, config), from, serial, subject: cert.subject };
  }
  throw new SmartCardRefusedError(`the certificate names no user (${tried.join(', ')}; auth.smart_card.map_from is ${config.map_from.join(', ')})`);
}

function userName(value: string, from: CardNameSource, config: Mapping): string {
  let name = value.trim();
  if (from !== 'subject' || config.subject_attribute === 'emailAddress') {
    const at = name.lastIndexOf('@');
    if (at <= 0 || name.indexOf('@') !== at) throw new SmartCardRefusedError(`the ${from} "${name}" is not of the form user@domain`);
    const dom = name.slice(at + 1).toLowerCase();
    if (config.domains.length > 0 && !config.domains.some((d) => d.toLowerCase() === dom)) {
      throw new SmartCardRefusedError(`the ${from} "${name}" is of domain ${dom}, not one of auth.smart_card.domains (${config.domains.join(', ')})`);
    }
    if (config.strip_domain) name = name.slice(0, at);
  }
  if (!USER_RE.test(name)) throw new SmartCardRefusedError(`"${name.slice(0, 64)}" (the certificate's ${from}) is not a valid user name`);
  return name;
}

/**
 * Why the certificate may not log in by its Extended Key Usage, or undefined when it may: it must
 * carry one of `allowed` (auth.smart_card.extended_key_usage). No extension is refused too: the
 * same CA also issues signing and e-mail certificates, which are no login.
 */
export function keyUsageProblem(der: Buffer, allowed: readonly CardKeyUsage[]): string | undefined {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const want = allowed.map((u) => `${u} (${CARD_KEY_USAGES[u]})`).join(' or ');
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku) return `the card's certificate has no Extended Key Usage; auth.smart_card.extended_key_usage asks for ${want}`;
  const has = eku.usages.map(String);
  if (allowed.some((u) => has.includes(CARD_KEY_USAGES[u]))) return undefined;
  return `the card's certificate is not for logins: its Extended Key Usage is ${has.join(', ') || 'empty'}, auth.smart_card.extended_key_usage asks for ${want}`;
}

/** Extensions OpenSSL handles when critical (RFC 5280's); another critical one makes a certificate unusable. */
const HANDLED_CRITICAL = new Set(['2.5.29.15', '2.5.29.17', '2.5.29.19', '2.5.29.30', '2.5.29.32', '2.5.29.36', '2.5.29.37', '2.5.29.54']);

/**
 * What OpenSSL's verdict INVALID_PURPOSE may hide: its verify result is the last error it met, so a
 * smart-card-logon-only certificate (which OpenSSL calls no TLS client) shows only that even when
 * it is also expired or carries a critical extension nobody handles. Those are checked here.
 */
export function hiddenByInvalidPurpose(der: Buffer, now = new Date()): string | undefined {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String) ?? [];
  // With clientAuth OpenSSL's purpose check passes: INVALID_PURPOSE then means something else (its key usage).
  if (eku.includes(CARD_KEY_USAGES.client_auth)) return "the card's certificate may not sign a TLS client's handshake (its Key Usage)";
  if (now < cert.notBefore || now > cert.notAfter) return "the card's certificate is outside its validity period";
  const unknown = cert.extensions.filter((e) => e.critical && !HANDLED_CRITICAL.has(e.type)).map((e) => e.type);
  if (unknown.length) return `the card's certificate has a critical extension this hub does not handle (${unknown.join(', ')})`;
  return undefined;
}
