// The catalogue of every error code the hub answers with, over REST (problem+json), the
// FleetService and the agent stream (gRPC status). docs/errors.md is generated from it
// (npm run docs), and catalogue.test.ts fails when a FleetError class that can be thrown is
// missing here, or a code is malformed or used twice.
//
// To add an error: write the class beside the code that throws it (a FleetError subclass with
// a fixed code), then add an entry under its area below (or a new area); `npm run docs`.
import { AuditUnavailableError, AuditWriteError } from '../audit/index.js';
import { AdmissionUnavailableError, QuotaExceededError } from '../submit/index.js';
import { TenantRateLimitedError } from '../tenant-rate/index.js';
import { AgentCommandTimeoutError, AgentNotConnectedError, SlurmRefusedError } from '../commands/index.js';
import { CrossSiteRequestError, HeadersTooLargeError, MethodNotAllowedError, PayloadTooLargeError, RequestTimeoutError } from '../api/rest/index.js';
import { AlertingLeaderUnavailableError } from '../alerting/index.js';
import {
  DirectoryUnavailableError,
  HashPoolBusyError,
  LoginFailedError,
  MfaRequiredError,
  SessionsUnavailableError,
  TooManyAttemptsError,
  TotpInvalidError,
  TotpReplayedError,
} from '../login/index.js';
import { IdpResponseError, IdpUnavailableError } from '../login/oidc/index.js';
import { SmartCardRefusedError } from '../login/smart-card/index.js';
import { WebauthnChallengeError, WebauthnCounterError, WebauthnRefusedError, WebauthnUnknownCredentialError } from '../login/webauthn/index.js';
import { FencedOffError } from '../leader/index.js';
import { HistoryDisabledError, HistoryNotOwnerError } from '../history/index.js';
import { ExportCursorTooOldError, ExportSourceMissingError, ExportWriteError } from '../export/index.js';
import { SecurityStoreUnavailableError } from '../security-store/index.js';
import { InFlightBudgetError } from '../limits/index.js';
import { HubStartError } from '../start/index.js';
import { TooManyWatchesError, WatchEndedError } from '../watch/index.js';
import { AgentSilentError, ApplyFailedError, BadSnapshotPartError, MalformedMessageError, NoHelloError, NotAnAgentError, RevokedCertificateError, SupersededError, WrongClusterError } from '../ingest/index.js';
import { KeyConfigError, KeyServiceError, KeyUnavailableError, TamperedDataError } from '../../shared/crypto/index.js';
import {
  BadRequestError,
  ConfigError,
  ConflictError,
  ForbiddenError,
  InternalError,
  NotFoundError,
  SlurmResponseError,
  SlurmUnavailableError,
  UnauthenticatedError,
  type ErrorArea,
} from '../../shared/errors/index.js';
import { CertificateRequestError } from '../../shared/tls/index.js';
import { DurableWriteError } from '../../shared/durability/index.js';
import { PseudonymKeyMissingError } from '../compliance/index.js';
import { BackupCorruptError, BackupFailedError, BackupKeyError, BackupNotConfiguredError, BackupNotFoundError, RestoreRefusedError } from '../backup/index.js';

export const ERROR_CATALOGUE: readonly ErrorArea[] = [
  {
    area: 'API requests',
    entries: [
      { example: () => new BadRequestError('bad filter'), meaning: 'The request is malformed or a parameter is invalid; the detail names it. Fix the request; retrying it unchanged fails again.' },
      { example: () => new NotFoundError('no job 42 in cluster a'), meaning: 'No such route, cluster, job or node, or the caller may not see it (RBAC row filters answer "not found", not "forbidden").' },
      { example: () => new MethodNotAllowedError('DELETE', '/api/v1/clusters', ['GET', 'HEAD']), meaning: 'The path is served, under other methods (the Allow header lists them). Audited like every refusal.' },
      { example: () => new ConflictError('user "alice" exists'), meaning: 'The change conflicts with what is there already (a user or an authenticator registered twice).' },
      { example: () => new HeadersTooLargeError(), meaning: 'The request headers are over 16 KiB in all (often a cookie jar or a huge token); the connection is closed after the answer.' },
      { example: () => new PayloadTooLargeError(65536), meaning: 'The request body is over the limit: http.max_body, or a route\'s own (PagerDuty webhooks: 64 KiB). Nothing was done.' },
      { example: () => new RequestTimeoutError(), meaning: 'The request headers did not arrive in time; the connection is closed. Not audited.' },
      { example: () => new TooManyWatchesError(8), meaning: 'The caller has limits.watches_per_caller watches open already; close one (or raise the limit).' },
      { example: () => new WatchEndedError('the watcher read too slowly; resume from event 1a-42'), meaning: 'The hub ended a watch: the client read too slowly (limits.watch_buffer, limits.watch_buffer_total), or its credential or role no longer holds. Resume from the event named, with a credential that is valid.' },
      { example: () => new InternalError(), meaning: 'Something failed that is not one of the errors above; the hub logs the cause (the answer never shows it, it may hold secrets).' },
    ],
  },
  {
    area: 'Authentication and access',
    entries: [
      { example: () => new UnauthenticatedError(), meaning: 'No client certificate of the fleet CA, no bearer token, or one that is unknown, expired or revoked.' },
      { example: () => new ForbiddenError('jobs:cancel is not allowed'), meaning: "RBAC: the caller's roles do not grant the permission the route or method needs; the detail names it." },
      { example: () => new CrossSiteRequestError('a change made with the session cookie needs an Origin header'), meaning: 'A change made with the browser session cookie came without an allowed Origin (the hub itself or http.allowed_origins) or without the sfleet_csrf cookie\'s value in X-CSRF-Token. Bearer and certificate callers never see it.' },
      { example: () => new LoginFailedError(), meaning: 'Unknown user or wrong password (the same answer for both, so user names cannot be probed).' },
      { example: () => new MfaRequiredError(), meaning: 'The password was right and the account needs a second factor: send the TOTP code (detail mfa) with the login again.' },
      { example: () => new TotpInvalidError(), meaning: 'The TOTP code is wrong or outside its time window.' },
      { example: () => new TotpReplayedError(), meaning: 'This TOTP code was used already; wait for the next one.' },
      { example: () => new SmartCardRefusedError('the card\'s certificate is revoked'), meaning: 'A smart-card login was refused: no card presented, a certificate not of a CA of auth.smart_card.ca_file (a fleet certificate is never a person), revoked on the CRL, expired, or naming no valid user; the detail says which.' },
      { example: () => new InFlightBudgetError(64 * 1024 * 1024), meaning: 'Too many request bodies of callers not yet authorized (anonymous logins, SSO posts) are being read at once (http.unauthorized_in_flight): refused before the body is read; try again in a moment. Authorized callers are not counted.' },
      { example: () => new HashPoolBusyError(), meaning: 'Too many password checks are queued on this hub (a login flood): the login is refused at once instead of waiting; try again in a moment.' },
      { example: () => new TooManyAttemptsError(30_000), meaning: 'Too many failed logins for this user or address: locked out for retry_after seconds (HTTP 429).' },
      { example: () => new DirectoryUnavailableError('the LDAP directory cannot be used now'), meaning: "Password logins cannot be checked against the LDAP directory: it cannot be reached, or it refuses the hub's service bind. Login counters do not cause it: wherever they are kept (etcd, Redis or the hub's own file), a hub whose shared store is down counts alone in its file." },
      { example: () => new SessionsUnavailableError('sessions are unavailable'), meaning: 'The shared session store (Redis) cannot be reached, so sessions cannot be opened or checked.' },
      { example: () => new IdpUnavailableError('the issuer cannot be reached'), meaning: 'The OIDC issuer cannot be reached (discovery, keys or code exchange); other sign-in methods keep working.' },
      { example: () => new IdpResponseError('the code exchange was refused'), meaning: 'The identity provider answered, but not as the protocol says (bad discovery document, refused code exchange).' },
      { example: () => new WebauthnChallengeError('login'), meaning: 'The WebAuthn challenge is unknown, expired or used already: start the login or registration again.' },
      { example: () => new WebauthnUnknownCredentialError(), meaning: 'The authenticator is not registered for this user.' },
      { example: () => new WebauthnCounterError(), meaning: "The authenticator's signature counter went backwards: the key may be cloned, so it is refused." },
      { example: () => new WebauthnRefusedError('bad signature'), meaning: "The authenticator's answer failed verification (origin, RP ID, signature); the detail says which." },
    ],
  },
  {
    area: 'Audit',
    entries: [
      { example: () => new AuditUnavailableError(), meaning: 'The audit log cannot be written, so changes are refused before they run (nothing changes unaudited); reads still work.' },
      { example: () => new AuditWriteError(), meaning: 'The change ran but its audit record could not be written: check the outcome before retrying.' },
    ],
  },
  {
    area: 'Storage',
    entries: [
      {
        example: () => new DurableWriteError('tokens', 'EROFS'),
        meaning: 'The hub could not write one of its files (tokens, users, sessions) in the data directory: full, read-only or failing. Nothing was changed; /healthz says degraded naming the store until a write works again. Fix the disk and retry.',
      },
    ],
  },
  {
    area: 'Commands and Slurm',
    entries: [
      { example: () => new AgentNotConnectedError('no agent of cluster a is connected to this hub'), meaning: "No agent of the cluster is connected to this hub, or it went away before answering; the command may not have run." },
      { example: () => new AgentCommandTimeoutError('the agent of cluster a did not answer within 30000 ms'), meaning: 'The agent did not answer within commands.timeout: the command may still have run, so check before retrying.' },
      { example: () => new QuotaExceededError({ scope: 'tenant', subject: 'eng', limit: 'max_jobs', value: 10, usage: 10, reserved: 0, request: 1 }), meaning: 'Admission refused a submit: it would break a tenant, account or user quota; the answer names the limit, its value, the usage (and what submits in flight reserve) and the request. Nothing reached Slurm.' },
      { example: () => new AdmissionUnavailableError("the region's etcd did not answer, so quota cannot be reserved for this submit; nothing was submitted"), meaning: "In a hub group, admission reserves quota in the region's etcd; while etcd does not answer (or this hub is no longer a live member of its group) a submit is refused rather than admitted unchecked. Nothing reached Slurm: retry." },
      { example: () => new TenantRateLimitedError('eng', 1_500), meaning: "The caller's tenant is over its API rate limit (multi_tenancy.rate_limit, or the tenant's own): 429 with a Retry-After header and retry_after seconds. Other tenants are not slowed." },
      { example: () => new SlurmRefusedError('Invalid job id specified'), meaning: "Slurm refused the command (unknown job, invalid state, permission); the detail is Slurm's own text." },
      { example: () => new SlurmUnavailableError('slurmrestd did not answer'), meaning: 'The agent could not reach slurmrestd or the Slurm CLI, or it refused the agent; upstream_status is its HTTP status when it gave one.' },
      { example: () => new SlurmResponseError('not JSON'), meaning: 'Slurm answered, but not with something the agent can use (bad JSON, unexpected shape, an error list).' },
      { example: () => new HistoryDisabledError(), meaning: 'history.enabled is false on this hub: there is no job history to query or report on.' },
      { example: () => new HistoryNotOwnerError('this hub does not own cluster a; its owner writes its history'), meaning: 'Only the hub that owns a cluster writes its job history (so each run is stored once); another hub refuses, and a cluster name that cannot name a partition directory is refused too.' },
      { example: () => new ExportWriteError('the Parquet file could not be written in /var/lib/sfleet/history/export-scratch: No space left on device'), meaning: 'A Parquet export is written to the hub\'s scratch directory before it is sent, and that write failed (a full disk): the partial file was removed and nothing was sent.' },
      { example: () => new ExportCursorTooOldError(['east']), meaning: 'An incremental jobs or nodes export whose cursor is older than what this hub knows of a cluster\'s changes (the hub lost its change journal, never exported incrementally before, or trimmed it): its deletes since are unknown, so nothing was sent. Also an incremental events export whose cursor is below events the hub\'s event log dropped (it keeps the newest 10,000), or an incremental audit export whose cursor is below records audit retention removed: they were never sent. Export again with an empty cursor (`cursor=`) and replace what you hold with that full export. `sfleet export --cursor FILE` exits 3 and writes nothing; with `--full-on-too-old` it writes that full export (still exit 3).' },
      { example: () => new ExportSourceMissingError('this hub keeps no audit log to export'), meaning: 'What the export would read is not kept by this hub (an audit export from a hub running without its audit log); nothing was exported.' },
      { example: () => new BackupCorruptError('backup 20261206T020000Z-3f9a1c: object data/users.json does not match its checksum (sha256)'), meaning: 'An object or the manifest of a backup is changed, truncated or missing: verify reports it, and a restore refuses the backup and writes nothing.' },
      { example: () => new BackupKeyError('backup 20261206T020000Z-3f9a1c was encrypted with env key SFLEET_BACKUP_KEY v1, which the configured env key OTHER_KEY cannot open'), meaning: 'The configured backup key (backup.encryption, or the hub\'s key provider) cannot open the backup\'s data key: restore with the key the backup was made with.' },
      { example: () => new BackupFailedError('backup 20261206T020000Z-3f9a1c failed on 1 of 2 destination(s): s3:backups: put ...: TimeoutError (after 4 attempt(s))'), meaning: 'A destination could not be written after the bounded retries: the run is reported failed and what it wrote there is removed again (a backup without its manifest never counts).' },
      { example: () => new BackupNotFoundError('local:/backups: no complete backup'), meaning: 'No complete backup of that id (or none at all) in the destination.' },
      { example: () => new RestoreRefusedError('/var/lib/sfleet holds a hub\'s data: restore into an empty directory, or pass --force'), meaning: 'A restore into a data directory that holds files, or into a group whose hubs are running, is refused unless forced; forced, the previous content is moved aside.' },
      { example: () => new BackupNotConfiguredError(), meaning: 'The hub has no backup section.' },
      { example: () => new PseudonymKeyMissingError(), meaning: 'A pseudonymised export (pseudonymize=true, sfleet export --pseudonymize) needs the gdpr framework and its pseudonym key on the hub; nothing was exported.' },
    ],
  },
  {
    area: 'Agent stream',
    entries: [
      { example: () => new NotAnAgentError(), meaning: 'The stream was opened with a certificate that is not an agent\'s (spiffe://<trust domain>/cluster/<cluster>/agent/<name>). Issue one with "sfleet ca issue --role agent".' },
      { example: () => new RevokedCertificateError({ serial: '1f', revoked_at: '2026-11-01T00:00:00.000Z', reason: 'key compromised' }), meaning: 'The certificate is on the revocation list (sfleet ca revoke): a new stream is refused, an open one is ended, and a renewal it asks for is refused. Issue a new certificate.' },
      { example: () => NoHelloError.timedOut(), meaning: 'The stream did not open with a hello: none came within the deadline (DEADLINE_EXCEEDED), or another message came first (FAILED_PRECONDITION). The agent reconnects.' },
      { example: () => WrongClusterError.inHello('prod-a', 'prod-b'), meaning: 'The agent spoke for a cluster its certificate is not for, in its hello or in a delta; check the agent\'s cluster name against its certificate.' },
      { example: () => new SupersededError('head1', 'prod-a'), meaning: 'A newer stream of the same agent took the cluster over; the older stream ends (a restart or a reconnect that overtook the old connection).' },
      { example: () => AgentSilentError.forBeats(3), meaning: 'No message from the agent for failover_threshold heartbeats, or a live agent of the same cluster replaced the silent one; a standby is promoted.' },
      { example: () => new MalformedMessageError('Delta', 'index out of range: 12 + 10 > 16'), meaning: 'Bytes from an agent stream or a stored checkpoint are not a fleet.v1 message: the stream is refused, an unreadable checkpoint is skipped and the cluster resyncs from its agent.' },
      { example: () => new BadSnapshotPartError('part 3 of 2'), meaning: 'Parts of a snapshot that do not follow each other or do not count right; the hub keeps its state and the agent sends the snapshot again.' },
      { example: () => new ApplyFailedError(), meaning: 'The hub could not make a delta durable or apply it (its data directory); nothing was acked, the agent resends.' },
    ],
  },
  {
    area: 'Clustered hubs',
    entries: [
      { example: () => new FencedOffError('fencing token 3 is older than 4'), meaning: 'A write of a hub that is no longer (or never was) the leader was refused by the fence; the current leader does it.' },
      { example: () => new SecurityStoreUnavailableError('the shared security store (etcd) cannot be reached'), meaning: 'A change to the hub group\'s shared security state (a new token) needs etcd and it cannot be reached; revocations are kept and written once it is back. Retry later.' },
      { example: () => new AlertingLeaderUnavailableError('the hub group has no leader now'), meaning: 'An ack link or a PagerDuty webhook reached a follower, which relays it to the leader, and there is no leader now or it cannot be reached. Nothing changed; try again (PagerDuty retries by itself).' },
    ],
  },
  {
    area: 'Certificates',
    entries: [
      { example: () => new CertificateRequestError('SF_TLS_CSR_INVALID', 'not a CSR'), meaning: 'The renewal request is not a valid PKCS#10 request for an sfleet identity.' },
      { example: () => new CertificateRequestError('SF_TLS_CSR_WRONG_IDENTITY', 'wrong identity'), meaning: 'The renewal request names another identity than the one the stream authenticated.' },
      { example: () => new CertificateRequestError('SF_TLS_RENEWAL_DISABLED', 'no tls.ca_key'), meaning: 'This hub cannot renew certificates (no tls.ca_key): issue a new one with "sfleet ca issue".' },
    ],
  },
  {
    area: 'Encryption at rest',
    entries: [
      { example: () => new KeyUnavailableError('data key is being loaded'), meaning: 'The key a sealed file needs is not there (or is not the one that wrapped its data key); the detail names file and key, never key material.' },
      { example: () => new TamperedDataError('record 3 fails authentication'), meaning: 'A sealed file or record failed authentication: changed, truncated, reordered or moved.' },
      { example: () => new KeyServiceError('vault: 503', 503), meaning: 'The key service (Vault) could not be reached, timed out or refused the request; upstream_status is its HTTP status.' },
      { example: () => new KeyConfigError('bad keyring'), meaning: 'Encryption settings or key material that cannot be used (bad keyring, unsafe file mode, bad environment value).' },
    ],
  },
  {
    area: 'Configuration',
    entries: [
      { example: () => new ConfigError('hub.yaml:3: etcd: Unrecognized key: "ttl"'), meaning: 'A config file or flag is invalid; the message names file, line and key. The hub or agent does not start.' },
      { example: () => new HubStartError('listeners', new Error('listen EADDRINUSE: address already in use 127.0.0.1:8443')), meaning: 'A stage of the hub\'s start failed (foundations, fleet, region, gate or listeners; the message names it and the cause). What the earlier stages had opened was closed again (ports, etcd lease and keys, Redis connections); `sfleet hub` exits 1.' },
    ],
  },
];
