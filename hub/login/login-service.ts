// POST /api/v1/auth/login's logic: rate limit -> password (local users or LDAP) -> second
// factor when required -> a session. Every refusal is a typed error whose message does not tell
// whether the user exists. The audit record of each attempt is the answer's own (hub/audit's
// HTTP hook, with the claimed user the login route sets): written before the answer goes out.
import type { Logger } from '../../shared/logging/index.js';
import { BadRequestError, FleetError } from '../../shared/errors/index.js';
import type { Principal } from '../policy/index.js';
import type { AuthConfig } from './config.js';
import { LoginFailedError, MfaRequiredError } from './errors.js';
import { isAcceptableLoginName } from './ldap/escape.js';
import type { DirectoryUser, LdapDirectory } from './ldap/ldap-directory.js';
import type { TotpVerifier } from './local/totp.js';
import type { LocalUser, UserDirectory } from './local/user-store.js';
import type { SessionStore } from './sessions/index.js';
import type { WebauthnFactor } from './webauthn/webauthn-factor.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { LoginLimiter } from './login-limiter.js';
import type { LoginLimits } from './login-limits.js';

export type LoginProvider = 'local' | 'ldap';

export interface LoginRequest {
  username: string;
  password: string;
  totp?: string;
  provider?: LoginProvider;
  remoteAddress?: string;
}

export interface LoginResult {
  token: string;
  expires_at: string;
  user: string;
  provider: LoginProvider;
  groups: string[];
  mfa: boolean;
}

export interface LoginServiceDeps {
  config: AuthConfig;
  sessions: SessionStore;
  limiter: LoginLimiter;
  /** The keys an attempt counts against (auth.rate_limit). */
  limits: LoginLimits;
  /** Absent when auth.mfa.providers lists no totp: TOTP codes are then not a second factor. */
  totp?: TotpVerifier;
  /** Present when auth.mfa.providers lists webauthn. */
  webauthn?: WebauthnFactor;
  localUsers: UserDirectory;
  ldap?: LdapDirectory;
  logger: Logger;
  /** RBAC roles of a principal, for auth.mfa.required_roles (wired to hub/policy/rbac); absent: those roles cannot be told apart, so every user needs a code. */
  rolesOf?: (principal: Principal) => string[] | Promise<string[]>;
}

export class LoginService {
  constructor(private readonly deps: LoginServiceDeps) {}

  get providers(): LoginProvider[] {
    return [...(this.deps.config.local.enabled ? (['local'] as const) : []), ...(this.deps.ldap ? (['ldap'] as const) : [])];
  }

  async login(req: LoginRequest): Promise<LoginResult> {
    const { limiter, limits } = this.deps;
    const user = req.username;
    if (!isAcceptableLoginName(user)) throw new BadRequestError('invalid user name: 1 to 256 printable characters, no control characters, no surrounding spaces');
    // The slot is taken before any hash or directory bind: concurrent attempts count.
    const slot = await limiter.take(limits.keys(user, req.remoteAddress));
    let result: LoginResult;
    try {
      result = await this.attempt(req);
    } catch (err) {
      // Wrong passwords and codes count towards the lockout; an unreachable directory (or a
      // password right and a factor still to come) gives the slot back.
      if (err instanceof FleetError && err.httpStatus === 401 && !(err instanceof MfaRequiredError)) await slot.fail();
      else await slot.succeed();
      throw err;
    }
    await slot.succeed();
    return result;
  }

  /** The second step of a login answered with a WebAuthn challenge: the signed challenge opens the session. */
  async finishWebauthn(loginId: string, response: AuthenticationResponseJSON, remoteAddress?: string): Promise<LoginResult> {
    const { config, limiter, limits, webauthn } = this.deps;
    if (!webauthn) throw new BadRequestError('WebAuthn is not enabled on this hub: auth.mfa.providers lists no webauthn provider');
    // The pending login is spent either way; a refused signature counts towards the address's lockout.
    const slot = await limiter.take(limits.sourceKeys(remoteAddress));
    try {
      const { principal, provider } = await webauthn.finishLogin(loginId, response);
      const ttl = config.session.ttl;
      const token = await this.deps.sessions.create(principal, ttl);
      await slot.succeed();
      return { token, expires_at: new Date(Date.now() + ttl).toISOString(), user: principal.name, provider, groups: principal.groups, mfa: true };
    } catch (err) {
      if (err instanceof FleetError && err.httpStatus === 401) await slot.fail();
      else await slot.succeed();
      throw err;
    }
  }

  /** An admin's unlock: the user's lockout ends and its failures are forgotten (the caller audits it). */
  async unlock(user: string): Promise<void> {
    await this.deps.limiter.unlock(this.deps.limits.userKeys(user));
  }

  /** An admin's exemption from the enrolled second factor (or its end); false: no such local record. */
  setMfaExempt(user: string, exempt: { by: string; reason: string } | undefined): Promise<boolean> {
    return this.deps.localUsers.setMfaExempt(user, exempt);
  }

  async logout(token: string): Promise<void> {
    await this.deps.sessions.revoke(token);
  }

  private async attempt(req: LoginRequest): Promise<LoginResult> {
    const providers = req.provider ? [req.provider] : this.providers;
    if (req.provider && !this.providers.includes(req.provider)) throw new BadRequestError(`login provider "${req.provider}" is not enabled on this hub (enabled: ${this.providers.join(', ') || 'none'})`);
    if (providers.length === 0) throw new BadRequestError('no login provider is enabled on this hub: configure auth.local or sso.ldap');
    // Local users first: they are the break-glass way in when the directory is down.
    let principal: Principal | undefined;
    let local: LocalUser | undefined;
    let provider: LoginProvider | undefined;
    if (providers.includes('local')) {
      local = await this.deps.localUsers.verify(req.username, req.password);
      if (local) {
        principal = { name: local.name, method: 'local', role: 'user', groups: [...local.groups], attributes: {} };
        provider = 'local';
      }
    }
    if (!principal && providers.includes('ldap') && this.deps.ldap) {
      const found: DirectoryUser = await this.deps.ldap.authenticate(req.username, req.password);
      principal = { name: found.name, method: 'ldap', role: 'user', groups: found.groups, attributes: found.attributes };
      provider = 'ldap';
    }
    if (!principal || !provider) throw new LoginFailedError();
    const mfa = await this.secondFactor(principal, provider, req.totp);
    if (mfa === 'webauthn') {
      const challenge = await this.deps.webauthn!.startLogin(principal, provider);
      throw new MfaRequiredError('sign in with your security key: sign public_key and POST it with login_id to /api/v1/auth/login/webauthn', {
        mfa: 'webauthn',
        methods: ['webauthn', ...(this.usableTotpSecret(principal.name) ? ['totp'] : [])],
        webauthn: challenge,
      });
    }
    const ttl = this.deps.config.session.ttl;
    const token = await this.deps.sessions.create(principal, ttl);
    return { token, expires_at: new Date(Date.now() + ttl).toISOString(), user: principal.name, provider, groups: principal.groups, mfa };
  }

  private usableTotpSecret(user: string): string | undefined {
    return this.deps.totp ? this.deps.localUsers.get(user)?.totp_secret : undefined;
  }

  /**
   * True when a TOTP code was checked; 'webauthn' when the user is to sign a WebAuthn challenge
   * instead. Throws when a factor is needed and missing, wrong or replayed.
   */
  private async secondFactor(principal: Principal, provider: LoginProvider, code: string | undefined): Promise<boolean | 'webauthn'> {
    const mfa = this.deps.config.mfa;
    // The enrolment of a directory user is a TOTP-only (or WebAuthn-only) record of the same name.
    // An enrolled factor is asked for whatever mfa.enabled says, unless an admin exempted the user.
    const secret = this.usableTotpSecret(principal.name);
    const webauthn = this.deps.webauthn?.hasCredentials(principal.name) ?? false;
    const exempt = !!this.deps.localUsers.get(principal.name)?.mfa_exempt;
    if (!mfa.enabled && (exempt || (!secret && !webauthn))) return false;
    let required = mfa.enabled && provider === 'local' && mfa.required_for_local;
    required ||= mfa.enabled && principal.groups.some((g) => mfa.required_groups.includes(g));
    if (mfa.enabled && !required && mfa.required_roles.length > 0) {
      // Without a way to learn the user's RBAC roles, nobody can be ruled out: everyone gives a code.
      if (!this.deps.rolesOf) required = true;
      else {
        const roles = [...(principal.roles ?? []), ...(await this.deps.rolesOf(principal))];
        required = roles.some((r) => mfa.required_roles.includes(r));
      }
    }
    // Enrolled users always give their code (enrolment is a promise to use it), unless exempted.
    if (!required && (exempt || (!secret && !webauthn))) return false;
    if (!secret && !webauthn) {
      this.deps.logger.warn({ user: principal.name }, 'login refused: MFA is required for this user but no TOTP is enrolled (sfleet user add --totp) and no security key is registered');
      throw new LoginFailedError('login refused: a second factor is required for this user and none is enrolled; ask an administrator to enrol TOTP');
    }
    // A user with a security key signs a challenge unless a TOTP code came with the login.
    if (webauthn && (!secret || code === undefined || code === '')) return 'webauthn';
    if (code === undefined || code === '') throw new MfaRequiredError();
    await this.deps.totp!.check(principal.name, secret!, code);
    return true;
  }
}
