// The people's trust list: the enterprise CA file and its CRL. OpenSSL checks both in the
// handshake (Node's `ca` and `crl`); the serials are also kept here so an open session of a card
// that lands on a new CRL ends at its next re-check. A bad file at start stops the hub with the
// key's name; a bad file later is logged and the last good list stays.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { ConfigError } from '../../../shared/errors/index.js';
import { normalizeSerial } from '../../../shared/tls/index.js';
import type { SmartCardConfig } from './config.js';

export interface CardTrust {
  /** PEM certificates of the enterprise CA. */
  ca: string[];
  /** PEM CRLs (empty without crl_file). */
  crl: string[];
  /** Normalized serials the CRLs list. */
  revoked: ReadonlySet<string>;
  /** The earliest nextUpdate of the CRLs: OpenSSL refuses every card once it is past. */
  nextUpdate?: Date;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// OpenSSL writes "X509 CRL"; some tools write "CRL".
const PEM_CRL = /-----BEGIN (?:X509 )?CRL-----[\s\S]+?-----END (?:X509 )?CRL-----/g;

function read(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`auth.smart_card.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function readCardTrust(config: Pick<SmartCardConfig, 'ca_file' | 'crl_file'>): CardTrust {
  const ca = read(config.ca_file, 'ca_file').toString('utf8').match(PEM_CERT) ?? [];
  if (ca.length === 0) throw new ConfigError(`auth.smart_card.ca_file: ${config.ca_file} holds no PEM certificate`);
  for (const pem of ca) {
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(pem);
    } catch (err) {
      throw new ConfigError(`auth.smart_card.ca_file: ${config.ca_file}: ${(err as Error).message}`);
    }
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    if (!basic?.ca) throw new ConfigError(`auth.smart_card.ca_file: ${config.ca_file} holds "${cert.subject}", which is not a CA certificate`);
  }
  if (!config.crl_file) return { ca, crl: [], revoked: new Set() };
  const raw = read(config.crl_file, 'crl_file');
  const text = raw.toString('latin1');
  // PEM (one or more CRLs: the root's and each intermediate's) or one DER CRL.
  const blocks: (string | Uint8Array<ArrayBuffer>)[] = /-----BEGIN (?:X509 )?CRL-----/.test(text) ? (text.match(PEM_CRL) ?? []) : [new Uint8Array(raw)];
  const crl: string[] = [];
  const revoked = new Set<string>();
  let nextUpdate: Date | undefined;
  for (const block of blocks) {
    let list: x509.X509Crl;
    try {
      list = new x509.X509Crl(block);
    } catch (err) {
      throw new ConfigError(`auth.smart_card.crl_file: ${config.crl_file} is not a CRL (PEM or DER): ${(err as Error).message}`);
    }
    const issuer = ca.map((pem) => new x509.X509Certificate(pem)).find((c) => c.subject === list.issuer);
    if (!issuer) throw new ConfigError(`auth.smart_card.crl_file: ${config.crl_file}: the CRL of "${list.issuer}" is not of a CA in ca_file`);
    // Node's `crl` takes OpenSSL's PEM label only.
    crl.push(x509.PemConverter.encode(list.rawData, 'X509 CRL'));
    for (const entry of list.entries) revoked.add(normalizeSerial(entry.serialNumber));
    if (list.nextUpdate && (!nextUpdate || list.nextUpdate < nextUpdate)) nextUpdate = list.nextUpdate;
  }
  return { ca, crl, revoked, ...(nextUpdate ? { nextUpdate } : {}) };
}
