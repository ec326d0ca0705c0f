// The hub's `alerting:` section. The brief's short form (channels + policies by severity) loads
// as written; routes, inhibition, silences and rules widen it. Top-level group_by / group_wait /
// group_interval / repeat_interval are the defaults of every route (as in Alertmanager).
// A channel without `name` is named by its type; a policy names channels by name or type.
// Templates and rule expressions are checked here, at load, not when the first page goes out.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';
import { checkTemplate, renderTemplate } from './notify/template.js';
import { parseMatcher } from './silences/matchers.js';
import { BUILTIN_RULES } from './rules/builtin.js';
import { checkExpression } from './rules/custom.js';
import { scheduleProblems } from './oncall/index.js';
import { heartbeatSchema } from './heartbeat/index.js';

const url = z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/, 'expected a URL such as https://host/path');
const matcherList = z.array(z.string().min(1)).superRefine((list, ctx) => {
  for (const [i, m] of list.entries()) {
    try {
      parseMatcher(m);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: [i], message: (err as Error).message });
    }
  }
});
const template = z.string().min(1).max(4096).superRefine((t, ctx) => {
  const problem = checkTemplate(t);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const common = {
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -').optional().describe('The channel\'s name (policies and routes use it); default: its type.'),
  url: url.optional().describe('Overrides where the channel sends (a test receiver, a proxy, an EU endpoint).'),
  timeout: duration.default(10_000).describe('Each attempt\'s deadline.'),
  retries: z.number().int().min(0).max(10).default(3).describe('Attempts after the first, on network errors, timeouts, 429 and 5xx.'),
  backoff: duration.default(1_000).describe('First retry delay; doubled each retry, with jitter (429 Retry-After wins).'),
  max_backoff: duration.default(60_000).describe('The longest wait between two attempts.'),
  rate_limit: z.number().int().min(1).default(60).describe('Sends per minute at most; more wait their turn.'),
  title: template.optional().describe('Title template: {{alertname}} {{cluster}} {{severity}} {{status}} {{count}} {{summary}} {{region}} {{group_key}}.'),
  text: template.optional().describe('Body template (same fields as title, plus {{ack_url}}).'),
};
// The channels that speak HTTPS (through notify/http.ts, with security.encryption.tls's suites).
const httpCommon = {
  ...common,
  ca_file: z.string().min(1).optional().describe('https: PEM file of the CA(s) that sign the receiver\'s certificate (default: the system\'s CAs).'),
};

const email = z.object({
  type: z.literal('email').describe('The channel type.'),
  ...common,
  endpoint: z.union([z.string().email(), z.array(z.string().email()).min(1)]).describe('The address(es) the mail goes to.'),
  from: z.string().min(3).default('sfleet@localhost').describe('The From address.'),
  smtp: z
    .object({
      host: z.string().min(1).default('localhost').describe('SMTP server.'),
      port: z.number().int().min(1).max(65535).default(25).describe('SMTP port (465: TLS from the start; others: STARTTLS when offered).'),
      secure: z.boolean().default(false).describe('TLS from the first byte (port 465).'),
      require_tls: z.boolean().default(false).describe('Refuse to send without STARTTLS.'),
      username: z.string().min(1).optional().describe('SMTP AUTH user.'),
      password: z.string().min(1).optional().describe('SMTP AUTH password (use ${ENV}).'),
      ca_file: z.string().min(1).optional().describe('CA bundle for a private SMTP certificate.'),
    })
    .strict()
    .prefault({})
    .describe('The SMTP server (url: smtp://host:port overrides host and port).'),
}).strict();

const slack = z.object({ type: z.literal('slack').describe('The channel type.'), ...httpCommon, webhook: url.describe('The incoming webhook URL (use ${ENV}).') }).strict();

const pagerduty = z.object({
  type: z.literal('pagerduty').describe('The channel type.'),
  ...httpCommon,
  integration_key: z.string().min(1).describe('The Events API v2 routing key (use ${ENV}).'),
  webhook_secret: z.string().min(8).optional().describe('The signing secret of a PagerDuty v3 webhook subscription (use ${ENV}): its incident.acknowledged and incident.resolved act here (POST /api/v1/alerts/pagerduty/webhook).'),
}).strict();

const webhook = z.object({
  type: z.literal('webhook').describe('The channel type.'),
  ...httpCommon,
  url: url.describe('Where the JSON is POSTed.'),
  secret: z.string().min(8).optional().describe('HMAC-SHA256 key: the X-Sfleet-Signature header is sha256=<hex> of "<timestamp>.<body>".'),
  format: z.enum(['sfleet', 'alertmanager']).default('sfleet').describe('sfleet: the notification as is; alertmanager: Alertmanager\'s webhook payload (version 4), for receivers written for it (acknowledgements, which it has no status for, are not sent).'),
}).strict();

const mqtt = z.object({
  type: z.literal('mqtt').describe('The channel type.'),
  ...common,
  url: url.describe('mqtt://host:1883 or mqtts://host:8883.'),
  username: z.string().min(1).optional().describe('Broker user.'),
  password: z.string().min(1).optional().describe('Broker password (use ${ENV}).'),
  tenant: z.string().min(1).default('default').describe('The tenant part of the topic.'),
  topic_prefix: z.string().min(1).default('sfleet').describe('Topics are <prefix>/<region>/<tenant>/<cluster>/<severity>/<fingerprint>.'),
  retain_resolved: duration.default(3_600_000).describe('How long the retained state message says resolved before it is cleared.'),
  ca_file: z.string().min(1).optional().describe('mqtts: PEM file of the CA(s) that sign the broker\'s certificate (default: the system\'s CAs).'),
  cert_file: z.string().min(1).optional().describe('mqtts: the hub\'s client certificate (PEM), for a broker that asks for one (require_certificate).'),
  key_file: z.string().min(1).optional().describe('mqtts: the client certificate\'s private key (PEM).'),
}).strict().superRefine((c, ctx) => {
  if (!c.cert_file !== !c.key_file) ctx.addIssue({ code: 'custom', path: [c.cert_file ? 'key_file' : 'cert_file'], message: 'cert_file and key_file go together' });
  // A plain mqtt:// or ws:// URL would ignore the files and send the broker password in clear.
  const tlsFile = (['ca_file', 'cert_file', 'key_file'] as const).find((k) => c[k]);
  if (tlsFile && !/^(mqtts|wss):\/\//i.test(c.url)) ctx.addIssue({ code: 'custom', path: [tlsFile], message: `${tlsFile} needs a TLS URL (mqtts:// or wss://), not ${c.url.split('://')[0]}://` });
});

// Ticketing channels: Basic auth (username and password) or an OAuth/personal access token (Bearer).
const credentials = {
  username: z.string().min(1).optional().describe('Basic auth user (use ${ENV}).'),
  password: z.string().min(1).optional().describe('Basic auth password or API token (use ${ENV}).'),
  token: z.string().min(1).optional().describe('A bearer token (OAuth access token, personal access token) instead of username and password (use ${ENV}).'),
};
const oneCredential = (c: { username?: string | undefined; password?: string | undefined; token?: string | undefined }, ctx: z.RefinementCtx) => {
  if (c.token && (c.username || c.password)) ctx.addIssue({ code: 'custom', path: ['token'], message: 'give either token or username and password, not both' });
  else if (!c.token && !(c.username && c.password)) ctx.addIssue({ code: 'custom', path: ['username'], message: 'needs username and password, or token' });
};
const bySeverity = (what: string) => z.record(z.string(), z.enum(['1', '2', '3'])).default({ critical: '1', warning: '2', info: '3' }).describe(`${what} by alert severity (1 high, 2 medium, 3 low; other severities 3).`);

// The brief's integrations.servicenow block (instance, username, password, incident_table), as a channel.
const servicenow = z.object({
  type: z.literal('servicenow').describe('The channel type.'),
  ...httpCommon,
  instance: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected a host name such as company.service-now.com').describe('The instance host; requests go to https://<instance>/api/now/table/<incident_table> (url overrides the https://<instance> part).'),
  ...credentials,
  incident_table: z.string().regex(/^[a-z0-9_]{1,80}$/, 'a table name such as incident').default('incident').describe('The Table API table incidents are created in.'),
  assignment_group: z.string().min(1).optional().describe('The assignment_group of new incidents (name or sys_id).'),
  caller_id: z.string().min(1).optional().describe('The caller_id of new incidents (user name or sys_id).'),
  category: z.string().min(1).optional().describe('The category of new incidents.'),
  urgency: bySeverity('urgency'),
  impact: bySeverity('impact'),
  acknowledged_state: z.string().regex(/^\d{1,3}$/).default('2').describe('The incident state set on an acknowledgement (2: In Progress).'),
  resolved_state: z.string().regex(/^\d{1,3}$/).default('6').describe('The incident state set on resolve (6: Resolved).'),
  close_code: z.string().min(1).default('Solved (Permanently)').describe('The close_code set on resolve (a choice of the instance\'s close_code field).'),
}).strict().superRefine(oneCredential);

// The brief's integrations.jira block (url, project, issue_type) plus credentials, as a channel.
const jira = z.object({
  type: z.literal('jira').describe('The channel type.'),
  ...httpCommon,
  url: url.describe('The Jira site, e.g. https://company.atlassian.net (REST API v2 under /rest/api/2).'),
  project: z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/, 'a project key such as HPC').describe('The project key issues are created in.'),
  issue_type: z.string().min(1).default('Task').describe('The issue type name of new issues, e.g. Bug.'),
  ...credentials,
  resolve_transition: z.string().min(1).default('Done').describe('The name of the transition applied on resolve; its id is looked up on the issue, never assumed.'),
  labels: z.array(z.string().regex(/^\S+$/, 'labels hold no spaces')).default([]).describe('Extra labels of new issues (sfleet and the dedup_key are always set).'),
}).strict().superRefine(oneCredential);

export const E164 = /^\+[1-9]\d{6,14}$/;
const SMS_TEMPLATE_FIELDS = ['to', 'message'] as const;
const smsBody = z.string().min(1).max(4096).superRefine((t, ctx) => {
  const problem = checkTemplate(t, SMS_TEMPLATE_FIELDS);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

// An SMS gateway over HTTP: one request per number, the body from a template.
const sms = z.object({
  type: z.literal('sms').describe('The channel type.'),
  ...httpCommon,
  url: url.describe('The gateway\'s send endpoint.'),
  method: z.enum(['POST', 'PUT', 'GET']).default('POST').describe('GET sends the rendered body as the query string (content_type form).'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name'), z.string().min(1)).default({}).describe('Extra headers, e.g. authorization: "Bearer ${SMS_TOKEN}" (never logged).'),
  content_type: z.enum(['json', 'form']).default('json').describe('json: the body template renders JSON (values escaped for JSON strings); form: application/x-www-form-urlencoded (values URL-encoded).'),
  body: smsBody.default('{"to":"{{to}}","message":"{{message}}"}').describe('The request body: {{to}} (E.164), {{message}} and the title fields.'),
  to: z.array(z.string().regex(E164, 'expected an E.164 number such as +4915112345678')).default([]).describe('The numbers texted when a step names the channel; a user\'s sms contact texts their own number instead.'),
  max_length: z.number().int().min(70).max(1600).default(320).describe('Messages ("<STATUS>: <title>", or the text template when set, and the ack link) are cut to this many characters.'),
}).strict().superRefine((c, ctx) => {
  if (c.method === 'GET' && c.content_type !== 'form') ctx.addIssue({ code: 'custom', path: ['content_type'], message: 'GET sends the body as a query string: content_type must be form' });
  if (c.content_type === 'json') {
    const sample = renderTemplate(c.body, { to: '+10000000000', message: 'm "q"\n' }, (v) => JSON.stringify(v).slice(1, -1));
    try {
      JSON.parse(sample);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['body'], message: 'with content_type json the body template must render JSON, e.g. {"to":"{{to}}","message":"{{message}}"}' });
    }
  }
});

export const channelSchema = z.discriminatedUnion('type', [email, slack, pagerduty, webhook, mqtt, servicenow, jira, sms]);
export type ChannelConfig = z.infer<typeof channelSchema> & { name: string };

const refList = (what: string) => z.array(z.string().min(1)).default([]).describe(what);

export const stepSchema = z
  .object({
    channels: refList('Channels by name or type, notified as configured.'),
    users: refList('Users (alerting.users) notified through their contact methods.'),
    schedules: refList('Schedules (alerting.schedules): whoever is on call when the step fires is notified through their contact methods.'),
    wait: duration.describe('Unacknowledged this long after this step: the next step.'),
  })
  .strict()
  .refine((s) => s.channels.length + s.users.length + s.schedules.length > 0, 'a step notifies at least one channel, user or schedule');
export type StepConfig = z.infer<typeof stepSchema>;

// The short form (escalation_time + channels) is the full form with one step:
// { steps: [{ channels, wait: escalation_time }], repeat, fallback }.
export const policySchema = z
  .object({
    escalation_time: duration.optional().describe('Short form: unacknowledged this long after a notification, notify again.'),
    channels: z.array(z.string().min(1)).min(1).optional().describe('Short form: channels by name or type.'),
    steps: z.array(stepSchema).min(1).max(32).optional().describe('Full form: ordered steps (notify channels, users, schedules\' on-call; wait), instead of escalation_time and channels.'),
    repeat: z.number().int().min(1).max(100).default(3).describe('Passes through the steps in all (the first included) before the fallback policy; in the short form, notifications in all.'),
    fallback: z.string().min(1).optional().describe('The policy that takes over after `repeat` passes.'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.steps && (p.channels || p.escalation_time !== undefined)) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'give either steps (full form) or escalation_time and channels (short form), not both' });
    if (!p.steps && (!p.channels || p.escalation_time === undefined)) ctx.addIssue({ code: 'custom', message: 'a policy needs escalation_time and channels (short form) or steps (full form)' });
  });
export type PolicyConfig = z.infer<typeof policySchema>;

/** A policy's steps: the full form as written, the short form as its one step. */
export function stepsOf(p: PolicyConfig): StepConfig[] {
  return p.steps ?? [{ channels: p.channels ?? [], users: [], schedules: [], wait: p.escalation_time ?? 0 }];
}

const personName = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'letters, digits, _ . @ -');

export const contactSchema = z
  .object({
    channel: z.string().min(1).describe('The channel (name or type) that carries it.'),
    address: z.string().min(3).max(256).optional().describe('E-mail channels: the user\'s address, instead of the channel\'s endpoint; sms channels: the user\'s number (E.164). Other channels: leave out (they are used as configured).'),
  })
  .strict();

export const userSchema = z
  .object({
    contacts: z.array(contactSchema).min(1).max(16).describe('How the user is reached; all are notified.'),
  })
  .strict();
export type UserConfig = z.infer<typeof userSchema>;

export const directoryContactsSchema = z
  .object({
    refresh: duration.default(300_000).describe('How often the cached contacts are read from the directory again; a user not yet cached is read at once.'),
    mail_attribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'an LDAP attribute name').default('mail').describe('The attribute holding the e-mail address (to the first email channel).'),
    mobile_attribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'an LDAP attribute name').default('mobile').describe('The attribute holding the mobile number (to the first sms channel).'),
  })
  .strict();
export type DirectoryContactsConfig = z.infer<typeof directoryContactsSchema>;

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

export const scheduleSchema = z
  .object({
    users: z.array(personName).min(1).describe('The rotation, in order: users[0] is on call from `start`, the next one from each hand-off.'),
    handoff: z
      .object({
        day: z.enum(WEEKDAYS).describe('The weekday of the weekly hand-off.'),
        time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)').describe('The local time of the hand-off.'),
      })
      .strict()
      .describe('When the rotation hands off each week, in time_zone (DST handled: 09:00 stays 09:00).'),
    time_zone: z.string().min(1).describe('IANA time zone of the hand-off, e.g. Europe/Berlin.'),
    start: z.string().regex(/^\d{4}-\d\d-\d\d$/, 'expected YYYY-MM-DD').describe('A local date on or before the first hand-off.'),
    overrides: z
      .array(
        z
          .object({
            user: personName.describe('Who is on call instead.'),
            start: z.string().datetime({ offset: true }).describe('From (ISO-8601).'),
            end: z.string().datetime({ offset: true }).describe('Until, exclusive (ISO-8601).'),
          })
          .strict(),
      )
      .default([])
      .describe('Someone else on call for a time (holidays, swaps); they may not overlap.'),
  })
  .strict();
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

const timing = {
  group_by: z.array(z.string().min(1)).optional().describe('Labels that make one group (one notification); ["..."] for every label.'),
  group_wait: duration.optional().describe('Wait this long after a group\'s first alert before its first notification.'),
  group_interval: duration.optional().describe('At most one notification per group and channel this often when the group changes.'),
  repeat_interval: duration.optional().describe('Resend a still-firing, unacknowledged group this often once its escalation is done.'),
};

export const routeSchema = z
  .object({
    matchers: matcherList.default([]).describe('label="v", label!="v", label=~"re", label!~"re"; all must match.'),
    policy: z.string().min(1).optional().describe('The escalation policy of matching alerts (default: the one named by their severity).'),
    channels: z.array(z.string().min(1)).optional().describe('Channels notified once (no escalation) instead of a policy.'),
    continue: z.boolean().default(false).describe('Also try the routes after this one.'),
    ...timing,
  })
  .strict();
export type RouteConfig = z.infer<typeof routeSchema>;

/** A route's policy and channels that the alerting section does not define (a tenant's routes are checked against it too). */
export function routeProblems(route: RouteConfig, c: { policies: Record<string, unknown>; channels: { name?: string | undefined; type: string }[] }): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  if (route.policy && !Object.hasOwn(c.policies, route.policy)) out.push({ path: ['policy'], message: `unknown policy "${route.policy}"` });
  for (const [i, ch] of (route.channels ?? []).entries()) {
    if (!c.channels.some((x) => (x.name ?? x.type) === ch || x.type === ch)) out.push({ path: ['channels', i], message: `unknown channel "${ch}"` });
  }
  return out;
}

const ruleTuning = z
  .object({
    enabled: z.boolean().default(true).describe('Off: the rule never fires.'),
    for: duration.optional().describe('How long the condition must hold before the alert fires.'),
    severity: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/).optional().describe('The severity label (picks the policy).'),
    threshold: z.number().min(0).optional().describe('The rule\'s threshold (share, count or minutes; see docs).'),
    window: duration.optional().describe('The rule\'s window (failure bursts, queue stalls).'),
    labels: z.record(z.string(), z.string()).optional().describe('Extra labels.'),
  })
  .strict();

export const customRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lower-case letters, digits and _').describe('The alertname label.'),
    scope: z.enum(['cluster', 'partition']).default('cluster').describe('One alert per cluster or per partition.'),
    expr: z.string().min(1).max(2048).superRefine((e, ctx) => {
      const problem = checkExpression(e);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }).describe('A filtrex expression over the scope\'s figures (nodes_total, nodes_down, nodes_drained, down_share, jobs_pending, jobs_running, jobs_failed_window, connected...).'),
    for: duration.default(0).describe('How long expr must hold.'),
    severity: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/).default('warning').describe('The severity label (picks the policy).'),
    summary: z.string().max(512).optional().describe('The alert\'s summary.'),
    labels: z.record(z.string(), z.string()).default({}).describe('Extra labels.'),
  })
  .strict();
export type CustomRuleConfig = z.infer<typeof customRuleSchema>;

export const silenceConfigSchema = z
  .object({
    matchers: matcherList.refine((l) => l.length > 0, 'a silence needs at least one matcher').describe('Label matchers; all must match.'),
    start: z.string().datetime({ offset: true }).optional().describe('Default: now.'),
    end: z.string().datetime({ offset: true }).describe('When the silence ends (ISO-8601).'),
    creator: z.string().min(1).default('config').describe('Who made it.'),
    comment: z.string().min(1).describe('Why.'),
  })
  .strict();

export const inhibitRuleSchema = z
  .object({
    source_matchers: matcherList.describe('The alert that mutes.'),
    target_matchers: matcherList.describe('The alerts it mutes.'),
    equal: z.array(z.string().min(1)).default([]).describe('Labels that must be equal on both.'),
  })
  .strict();

// An unreachable cluster, or one whose every slurmctld is down, mutes what follows from it.
const CLUSTER_TARGETS = ['alertname=~"node_down|partition_nodes_unavailable|queue_stall|job_failure_burst|controller_not_responding|controller_server_threads|controller_agent_queue|black_hole_node|job_failure_burst_partition|slurm_poll_errors"'];
const DEFAULT_INHIBIT = [
  { source_matchers: ['alertname="cluster_unreachable"'], target_matchers: CLUSTER_TARGETS, equal: ['cluster'] },
  { source_matchers: ['alertname="cluster_controller_down"'], target_matchers: CLUSTER_TARGETS, equal: ['cluster'] },
];

export const alertingConfigSchema = z
  .object({
    channels: z.array(channelSchema).default([]).describe('Where notifications go.'),
    policies: z.record(z.string(), policySchema).default({}).describe('Escalation policies; an alert\'s severity picks the one of that name.'),
    users: z.record(personName, userSchema).default({}).describe('People that policies and schedules name, with their contact methods.'),
    directory_contacts: directoryContactsSchema.optional().describe('Users that policies and schedules name but alerting.users does not: their e-mail address and mobile number from the directory (sso.ldap, service account).'),
    schedules: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -'), scheduleSchema).default({}).describe('On-call schedules: weekly rotations with a hand-off time and zone, and overrides.'),
    routes: z.array(routeSchema).default([]).describe('Tried in order before the severity policy; the first match wins unless continue.'),
    inhibit_rules: z.array(inhibitRuleSchema).default(DEFAULT_INHIBIT).describe('Default: an unreachable cluster, or one with no slurmctld responding, mutes its node, partition, job and controller alerts.'),
    silences: z.array(silenceConfigSchema).default([]).describe('Silences from config (more through the API and CLI).'),
    rules: z.record(z.string(), ruleTuning).default({}).describe(`Built-in rules to tune or turn off: ${Object.keys(BUILTIN_RULES).join(', ')}.`),
    custom_rules: z.array(customRuleSchema).default([]).describe('Rules of your own, as expressions.'),
    group_by: z.array(z.string().min(1)).default(['alertname', 'cluster']).describe('Default grouping labels.'),
    group_wait: duration.default(30_000).describe('Default group_wait.'),
    group_interval: duration.default(300_000).describe('Default group_interval.'),
    repeat_interval: duration.default(14_400_000).describe('Default repeat_interval.'),
    keep_firing_for: duration.default(120_000).describe('An alert whose condition clears keeps firing this long (flapping damped).'),
    resolve_timeout: duration.default(300_000).describe('An alert posted to POST /api/v2/alerts without endsAt resolves this long after its last post (as Alertmanager).'),
    evaluation_interval: duration.default(5_000).describe('How often the rules are evaluated.'),
    external_url: url.optional().describe('The hub URL that ack links in notifications point to (default: the listener\'s).'),
    ack_link_ttl: duration.default(86_400_000).describe('How long an ack link in a notification works (once).'),
    heartbeat: heartbeatSchema.optional().describe("A dead man's switch: a URL called every interval while paging works."),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Map<string, number>();
    for (const [i, ch] of c.channels.entries()) {
      const name = ch.name ?? ch.type;
      if (names.has(name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `two channels are named "${name}": give each a name` });
      names.set(name, i);
    }
    const known = (n: string) => names.has(n) || c.channels.some((ch) => ch.type === n);
    const knownChannels = () => [...names.keys()].join(', ') || 'none';
    // With directory_contacts any other name is a directory user (a missing one is a clear skip when paged).
    const knownUser = (u: string) => Object.hasOwn(c.users, u) || !!c.directory_contacts;
    const knownUsers = () => Object.keys(c.users).join(', ') || 'none';
    if (c.directory_contacts && !c.channels.some((ch) => ch.type === 'email' || ch.type === 'sms')) ctx.addIssue({ code: 'custom', path: ['directory_contacts'], message: 'directory contacts need an email or sms channel to carry them' });
    for (const [u, user] of Object.entries(c.users)) {
      for (const [i, contact] of user.contacts.entries()) {
        const path = ['users', u, 'contacts', i];
        if (!known(contact.channel)) ctx.addIssue({ code: 'custom', path: [...path, 'channel'], message: `unknown channel "${contact.channel}"; known: ${knownChannels()}` });
        const type = c.channels.find((ch) => (ch.name ?? ch.type) === contact.channel)?.type ?? c.channels.find((ch) => ch.type === contact.channel)?.type;
        if (contact.address !== undefined && type && type !== 'email' && type !== 'sms') ctx.addIssue({ code: 'custom', path: [...path, 'address'], message: `a ${type} channel takes no address (only e-mail and sms channels do)` });
        if (contact.address !== undefined && type === 'sms' && !E164.test(contact.address)) ctx.addIssue({ code: 'custom', path: [...path, 'address'], message: `"${contact.address}" is not an E.164 number such as +4915112345678` });
        if (contact.address !== undefined && type === 'email' && !z.string().email().safeParse(contact.address).success) ctx.addIssue({ code: 'custom', path: [...path, 'address'], message: `"${contact.address}" is not an e-mail address` });
      }
    }
    for (const [s, schedule] of Object.entries(c.schedules)) {
      for (const problem of scheduleProblems(schedule)) ctx.addIssue({ code: 'custom', path: ['schedules', s, ...problem.path], message: problem.message });
      for (const [i, u] of schedule.users.entries()) if (!knownUser(u)) ctx.addIssue({ code: 'custom', path: ['schedules', s, 'users', i], message: `unknown user "${u}"; known: ${knownUsers()}` });
      for (const [i, o] of schedule.overrides.entries()) if (!knownUser(o.user)) ctx.addIssue({ code: 'custom', path: ['schedules', s, 'overrides', i, 'user'], message: `unknown user "${o.user}"; known: ${knownUsers()}` });
    }
    for (const [p, policy] of Object.entries(c.policies)) {
      for (const [i, ch] of (policy.channels ?? []).entries()) if (!known(ch)) ctx.addIssue({ code: 'custom', path: ['policies', p, 'channels', i], message: `unknown channel "${ch}"; known: ${knownChannels()}` });
      for (const [k, step] of (policy.steps ?? []).entries()) {
        const path = ['policies', p, 'steps', k];
        for (const [i, ch] of step.channels.entries()) if (!known(ch)) ctx.addIssue({ code: 'custom', path: [...path, 'channels', i], message: `unknown channel "${ch}"; known: ${knownChannels()}` });
        for (const [i, u] of step.users.entries()) if (!knownUser(u)) ctx.addIssue({ code: 'custom', path: [...path, 'users', i], message: `unknown user "${u}"; known: ${knownUsers()}` });
        for (const [i, s] of step.schedules.entries()) if (!Object.hasOwn(c.schedules, s)) ctx.addIssue({ code: 'custom', path: [...path, 'schedules', i], message: `unknown schedule "${s}"; known: ${Object.keys(c.schedules).join(', ') || 'none'}` });
      }
      if (policy.fallback && !c.policies[policy.fallback]) ctx.addIssue({ code: 'custom', path: ['policies', p, 'fallback'], message: `unknown policy "${policy.fallback}"` });
    }
    for (const [r, route] of c.routes.entries()) {
      if (route.policy && !c.policies[route.policy]) ctx.addIssue({ code: 'custom', path: ['routes', r, 'policy'], message: `unknown policy "${route.policy}"` });
      for (const [i, ch] of (route.channels ?? []).entries()) if (!known(ch)) ctx.addIssue({ code: 'custom', path: ['routes', r, 'channels', i], message: `unknown channel "${ch}"` });
    }
    for (const name of Object.keys(c.rules)) {
      if (!Object.hasOwn(BUILTIN_RULES, name)) ctx.addIssue({ code: 'custom', path: ['rules', name], message: `unknown built-in rule; known: ${Object.keys(BUILTIN_RULES).join(', ')}` });
    }
  });

export type AlertingConfig = z.infer<typeof alertingConfigSchema>;

/** Channels with their names filled in; a policy or route entry resolved to a channel name. */
export function channelsOf(config: AlertingConfig): ChannelConfig[] {
  return config.channels.map((ch) => ({ ...ch, name: ch.name ?? ch.type }) as ChannelConfig);
}

export function resolveChannel(config: AlertingConfig, ref: string): string {
  const byName = channelsOf(config).find((c) => c.name === ref);
  return byName ? byName.name : (channelsOf(config).find((c) => c.type === ref)?.name ?? ref);
}
