// A real headless Chromium (Debian's package, installed with apt-get when missing) driven by
// playwright-core, with a CDP virtual authenticator for WebAuthn. The hub's certificate comes
// from the test CA: Chromium accepts it through --ignore-certificate-errors-spki-list (the
// certificate's key hash), which clears the error itself, so the page stays a secure context
// where WebAuthn works (a page with a certificate error gets no WebAuthn).
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Chromium on Linux loads MIT's GSS-API library for Kerberos (SPNEGO) only when asked to; Debian's package does not depend on it. */
const GSSAPI = '/usr/lib/x86_64-linux-gnu/libgssapi_krb5.so.2';

/**
 * apt-get install chromium when it is missing, and libgssapi-krb5-2 for its Kerberos logins (the
 * tests run as root, like scripts/*\/start.sh).
 */
export function ensureChromium(): void {
  const missing = [...(existsSync(CHROMIUM) ? [] : ['chromium']), ...(existsSync(GSSAPI) || process.arch !== 'x64' ? [] : ['libgssapi-krb5-2'])];
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get install chromium did not provide ${CHROMIUM}`);
}

export interface LaunchOptions {
  /** More command-line switches (e.g. --auth-server-allowlist for Kerberos). */
  args?: string[];
  /** The browser's environment (e.g. KRB5CCNAME and KRB5_CONFIG for its GSS-API library); default this process's. */
  env?: NodeJS.ProcessEnv;
}

/** base64(sha256(SubjectPublicKeyInfo)) of a PEM certificate, the form Chromium's SPKI list takes. */
export function spkiHash(certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

export class HeadlessChromium {
  private constructor(
    readonly context: BrowserContext,
    private readonly profile: string,
  ) {}

  /** A fresh profile that accepts the certificates in `certFiles` (by key) and nothing else. */
  static async launch(certFiles: string[], options: LaunchOptions = {}): Promise<HeadlessChromium> {
    ensureChromium();
    const profile = mkdtempSync(join(tmpdir(), `chromium-${process.pid}-`));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--ignore-certificate-errors-spki-list=${certFiles.map(spkiHash).join(',')}`,
        ...(options.args ?? []),
      ],
      ...(options.env ? { env: options.env as Record<string, string> } : {}),
    });
    return new HeadlessChromium(context, profile);
  }

  /** launch() and a page with a virtual authenticator (addAuthenticator): what a WebAuthn test starts from. */
  static async withAuthenticator(certFiles: string[]): Promise<{ browser: HeadlessChromium; page: Page }> {
    const browser = await HeadlessChromium.launch(certFiles);
    const page = await browser.newPage();
    await HeadlessChromium.addAuthenticator(page);
    return { browser, page };
  }

  async newPage(): Promise<Page> {
    return this.context.newPage();
  }

  /** A virtual CTAP2 platform authenticator on the page's CDP session; its id for later calls. */
  static async addAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { cdp, authenticatorId };
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
  }
}
