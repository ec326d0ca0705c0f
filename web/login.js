// The dashboard's login page: password (+ TOTP) or password + security key (WebAuthn), ending
// with the HttpOnly sfleet_session cookie; then a security key can be registered. The SSO logins
// the hub offers (its <meta name="sfleet-sso">) are links that carry next= through the IdP.
/* global document, fetch, location, navigator, PublicKeyCredential */
'use strict';

const $ = (id) => document.getElementById(id);

function say(text, error = false) {
  $('message').textContent = text;
  $('message').className = error ? 'error' : '';
}

/** The session's CSRF token (the hub's sfleet_csrf cookie): cookie-authenticated changes need it. */
function csrfToken() {
  const m = /(?:^|; )sfleet_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : '';
}

async function post(url, body) {
  const headers = { 'content-type': 'application/json', 'x-csrf-token': csrfToken() };
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
  const data = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, data };
}

/** Where the dashboard sent us from (?next=/jobs?state=PENDING): a path of this site only. */
function nextPath() {
  const next = new URLSearchParams(location.search).get('next');
  // "//host" and "/\\host" are other sites to a browser (the hub checks the same for SSO logins).
  return next && next.startsWith('/') && next[1] !== '/' && !next.includes('\\') ? next : undefined;
}

const SSO = { oidc: 'Sign in with single sign-on (OpenID Connect)', saml: 'Sign in with single sign-on (SAML)', 'smart-card': 'Sign in with a smart card', kerberos: 'Sign in with Kerberos' };

/** One link per SSO login of this hub, each coming back to `next` once the IdP has signed the user in. */
function showSso() {
  const meta = document.querySelector('meta[name="sfleet-sso"]');
  const kinds = (meta ? meta.content.split(' ') : []).filter((k) => SSO[k]);
  if (kinds.length === 0) return;
  const next = nextPath();
  for (const kind of kinds) {
    const a = document.createElement('a');
    a.href = `/api/v1/auth/${kind}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`;
    a.textContent = SSO[kind];
    a.dataset.sso = kind;
    if (kind === 'kerberos') a.addEventListener('click', kerberosSignIn);
    $('sso').append(a);
  }
  const or = document.createElement('p');
  or.textContent = 'or with a user name and password';
  $('sso').append(or);
  $('sso').hidden = false;
}

/**
 * Kerberos: the browser answers the hub's Negotiate challenge with its ticket by itself. Fetched
 * rather than followed so that a challenge the browser drops is asked once more: Chromium on Linux
 * refuses the first Negotiate challenge after it starts (ERR_UNSUPPORTED_AUTH_SCHEME in its log)
 * and answers the next. The link itself still works without this script (the hub's own pages).
 */
async function kerberosSignIn(event) {
  event.preventDefault();
  const url = event.currentTarget.href;
  say('Signing in with Kerberos…');
  try {
    let page = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (res.ok) return location.assign(nextPath() || '/');
      page = await res.text();
    }
    say(
      page.includes('data-kerberos="refused"')
        ? 'Kerberos sign-in failed: the hub could not accept your ticket. Use another sign-in method, or ask your administrator.'
        : 'No Kerberos ticket: your browser sent none for this hub. Run kinit (or log in to your domain) and check that your browser may use Kerberos for this site; or sign in another way below.',
      true,
    );
  } catch (err) {
    say(String(err.message || err), true);
  }
}

function loggedIn(result) {
  // Sent here by the dashboard (a session expired): straight back to the page the user was on.
  const next = nextPath();
  if (next) return location.replace(next);
  $('login').hidden = true;
  $('logged-in').hidden = false;
  $('user').textContent = result.user;
  say(`Logged in (${result.mfa ? 'with a second factor' : 'password'}).`);
}

async function signChallenge(challenge) {
  say('Confirm with your security key…');
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(challenge.public_key);
  const credential = await navigator.credentials.get({ publicKey });
  const res = await post('/api/v1/auth/login/webauthn', { login_id: challenge.login_id, credential: credential.toJSON(), set_cookie: true });
  if (!res.ok) throw new Error(res.data.detail || `login failed (${res.status})`);
  loggedIn(res.data);
}

showSso();

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const totp = $('totp').value.trim();
  const body = { username: $('username').value, password: $('password').value, set_cookie: true, ...(totp ? { totp } : {}) };
  try {
    const res = await post('/api/v1/auth/login', body);
    if (res.ok) return loggedIn(res.data);
    if (res.data.code === 'SF_AUTH_MFA_REQUIRED' && res.data.mfa === 'webauthn') return await signChallenge(res.data.webauthn);
    if (res.data.code === 'SF_AUTH_MFA_REQUIRED') {
      $('totp').focus();
      return say('Enter the TOTP code from your authenticator app.', true);
    }
    say(res.data.detail || `login failed (${res.status})`, true);
  } catch (err) {
    say(String(err.message || err), true);
  }
});

$('register').addEventListener('click', async () => {
  try {
    const start = await post('/api/v1/auth/webauthn/registration/options', {});
    if (!start.ok) throw new Error(start.data.detail || `registration failed (${start.status})`);
    say('Touch your security key…');
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(start.data.public_key);
    const credential = await navigator.credentials.create({ publicKey });
    const done = await post('/api/v1/auth/webauthn/registration', { registration_id: start.data.registration_id, credential: credential.toJSON() });
    if (!done.ok) throw new Error(done.data.detail || `registration failed (${done.status})`);
    say(`Security key "${done.data.name}" registered.`);
  } catch (err) {
    say(String(err.message || err), true);
  }
});
