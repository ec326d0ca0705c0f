// A real OpenID Provider for tests: the `oidc-provider` package (certified implementation)
// over HTTPS with its own TLS certificate and its own signing keys, the stock login and
// consent pages (devInteractions), PKCE required. Keys can be rotated by restarting it on the
// same port with a new key first, as an IdP does on rollover.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { Browser } from './browser.js';
import { makePki, type TestPki } from './pki.js';
import { freePort } from './ports.js';
import { registerSecret } from '../../scripts/test/run-dir.js';

export interface IdpAccount {
  preferred_username: string;
  groups?: string[];
  project?: string;
}

export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface IdpTokens {
  id_token: string;
  access_token: string;
}

/** The resource (API audience) JWT access tokens are issued for. */
export const HUB_RESOURCE = 'https://hub.sfleet.test';

export async function newSigningKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  registerSecret(jwk.d!, `OIDC IdP signing key ${kid} (private exponent)`);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

export class TestIdp {
  server?: Server;
  issuer = '';
  /** Seconds; a test shortens it to get tokens that expire. */
  tokenTtl = 3600;
  /** Refresh tokens with every code exchange (a relying party that re-checks its sessions needs them). */
  issueRefreshTokens = false;
  keys: JWK[] = [];
  private pki?: TestPki;

  constructor(
    readonly accounts: Record<string, IdpAccount>,
    readonly clients: IdpClient[],
    public port = 0,
    /** Another issuer name on another port sharing the same keys (a wrong-issuer token signed by a trusted key). */
    readonly name = 'idp',
  ) {
    for (const c of clients) registerSecret(c.client_secret, `OIDC client secret of ${c.client_id}`);
  }

  /** This IdP's TLS certificate (a browser that trusts certificates one by one takes this). */
  get certFile(): string {
    return this.pki!.hub.cert;
  }

  /** The CA file a relying party must trust for this IdP's TLS certificate. */
  get caFile(): string {
    return this.pki!.ca;
  }

  async start(keys?: JWK[], pki?: TestPki): Promise<this> {
    this.pki ??= pki ?? (await makePki('idp.test'));
    if (!this.port) this.port = await freePort();
    this.issuer = `https://127.0.0.1:${this.port}`;
    this.keys = keys ?? (this.keys.length ? this.keys : [await newSigningKey(`${this.name}-key-1`)]);
    const accounts = this.accounts;
    const provider = new Provider(this.issuer, {
      clients: this.clients.map((c) => ({ ...c, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] })),
      // Without offline_access (which needs a consent prompt), as many IdPs are set up for a trusted client.
      issueRefreshToken: async () => this.issueRefreshTokens,
      jwks: { keys: this.keys },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      async findAccount(_ctx: unknown, id: string) {
        const account = accounts[id];
        if (!account) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, ...account }) };
      },
      claims: { openid: ['sub'], profile: ['preferred_username', 'groups', 'project'] },
      // Scope claims in the ID token itself (the hub maps them from there).
      conformIdTokenClaims: false,
      pkce: { methods: ['S256'], required: () => true },
      ttl: { IdToken: () => this.tokenTtl, AccessToken: () => this.tokenTtl, RefreshToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => HUB_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: 'api', audience: HUB_RESOURCE, accessTokenFormat: 'jwt', accessTokenTTL: this.tokenTtl, jwt: { sign: { alg: 'RS256' } } }),
        },
      },
      async extraTokenClaims(_ctx: unknown, token: { accountId?: string; kind: string }) {
        const account = token.accountId ? accounts[token.accountId] : undefined;
        return token.kind === 'AccessToken' && account ? { ...account } : undefined;
      },
    });
    const tls = this.pki.hub; // a server certificate for 127.0.0.1 from the IdP's own CA
    this.server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, provider.callback());
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Key rollover: a new key signs from now on; the old one stays published (or not). */
  async rotateKeys(opts: { keepOld: boolean }): Promise<JWK> {
    const fresh = await newSigningKey(`${this.name}-key-${this.keys.length + 1}`);
    await this.stop();
    await this.start([fresh, ...(opts.keepOld ? this.keys : [])]);
    return fresh;
  }

  /**
   * Logs `user` in as a browser would for `client` (stock login and consent forms) and
   * exchanges the code: the tokens an application of this IdP holds.
   */
  async tokensFor(user: string, client: IdpClient, browser = new Browser([this.caFile])): Promise<IdpTokens> {
    const verifier = randomBytes(32).toString('base64url');
    const auth = new URL(`${this.issuer}/auth`);
    auth.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0],
      scope: 'openid profile',
      state: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const back = await this.signIn(browser, auth.toString(), user, client.redirect_uris[0]);
    const code = new URL(back).searchParams.get('code');
    if (!code) throw new Error(`no code in ${back}`);
    const res = await browser.fetch(`${this.issuer}/token`, {
      method: 'POST',
      form: { grant_type: 'authorization_code', code, redirect_uri: client.redirect_uris[0], code_verifier: verifier, client_id: client.client_id, client_secret: client.client_secret },
    });
    if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${res.body}`);
    const tokens = JSON.parse(res.body) as IdpTokens & { refresh_token?: string };
    registerSecret(tokens.id_token, `OIDC id token of ${user} for ${client.client_id}`);
    registerSecret(tokens.access_token, `OIDC access token of ${user} for ${client.client_id}`);
    if (tokens.refresh_token) registerSecret(tokens.refresh_token, `OIDC refresh token of ${user} for ${client.client_id}`);
    return tokens;
  }

  /** Drives the IdP's login and consent pages from `url` until it redirects to `returnTo`; answers that URL. */
  async signIn(browser: Browser, url: string, user: string, returnTo: string): Promise<string> {
    let res = await browser.follow(url, returnTo);
    for (let step = 0; step < 6; step++) {
      if ('stoppedAt' in res) return res.stoppedAt;
      if (res.status !== 200) throw new Error(`IdP answered ${res.status} at ${res.url}: ${res.body.slice(0, 500)}`);
      const submitted = await browser.submitForm(res, { login: user, password: 'any' });
      if (!submitted.location) throw new Error(`IdP form answered ${submitted.status}: ${submitted.body.slice(0, 500)}`);
      res = await browser.follow(submitted.location, returnTo);
    }
    throw new Error('the IdP never sent the browser back');
  }
}
