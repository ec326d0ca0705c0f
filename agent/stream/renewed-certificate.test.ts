import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initCa, issueCertificate } from '../../shared/tls/index.js';
import { effectiveTls, renewedFiles } from './renewed-certificate.js';

const HOUR = 3_600_000;

async function setup() {
  const ca = mkdtempSync(join(tmpdir(), 'renewed-ca-'));
  await initCa(ca, { trustDomain: 'unit.fleet' });
  const etc = mkdtempSync(join(tmpdir(), 'renewed-etc-'));
  const state = join(mkdtempSync(join(tmpdir(), 'renewed-state-')), 'sfleet-tls');
  const files = { ca: join(ca, 'ca.pem'), cert: join(etc, 'head1.pem'), key: join(etc, 'head1-key.pem') };
  /** Issues a certificate and copies it to `to` (cert and key paths). */
  const issue = async (to: { cert: string; key: string }, lifetimeMs: number, name = 'head1', dir = ca) => {
    const out = await issueCertificate(dir, { role: 'agent', name, cluster: 'prod-a', lifetimeMs });
    copyFileSync(out.cert, to.cert);
    copyFileSync(out.key, to.key);
  };
  return { ca, files, state, issue };
}

describe('the renewed agent certificate in the state directory', () => {
  it('is used when it is for the same agent, from the same CA and expires later than tls.cert; a newer tls.cert wins again', async () => {
    const { files, state, issue } = await setup();
    await issue(files, HOUR);
    expect(effectiveTls(files, state)).toEqual(files); // nothing renewed yet

    mkdirSync(state);
    const renewed = renewedFiles(state);
    await issue(renewed, 24 * HOUR);
    expect(effectiveTls(files, state)).toEqual({ ...files, ...renewed });

    // The operator installs a newer certificate where the configuration says: it is used.
    await issue(files, 48 * HOUR);
    expect(effectiveTls(files, state)).toEqual(files);
  });

  it('is ignored when it names another agent or another CA signed it', async () => {
    const { files, state, issue } = await setup();
    await issue(files, HOUR);
    mkdirSync(state);
    await issue(renewedFiles(state), 24 * HOUR, 'head2');
    expect(effectiveTls(files, state)).toEqual(files);

    const otherCa = mkdtempSync(join(tmpdir(), 'renewed-other-ca-'));
    await initCa(otherCa, { trustDomain: 'unit.fleet' });
    await issue(renewedFiles(state), 24 * HOUR, 'head1', otherCa);
    expect(effectiveTls(files, state)).toEqual(files);
  });
});
