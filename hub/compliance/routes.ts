// GET /api/v1/compliance/person/{name} (compliance:export): everything held about a person.
// GET /api/v1/compliance/report (compliance:report): the state of each control.
// POST /api/v1/compliance/pseudonymize (compliance:erase): a person's name out of the stored job history.
// All are fleet-wide (FLEET_WIDE_PERMISSIONS): a caller acting in a tenant is refused by the gate. Both are audited (the export with
// its subject, so the log shows whose data left and who took it).
import type { FastifyInstance } from 'fastify';
import { setAuditContext } from '../audit/index.js';
import { FRAMEWORKS, type Framework } from './config.js';
import { exportPerson, type PersonSources } from './person-export.js';
import { requirePseudonymizer, type Pseudonymizer } from './pseudonym.js';
import { userWordPattern, type PseudonymizedUsers } from './pseudonymized-users.js';
import { complianceReport, type ReportInputs } from './report.js';
import { PseudonymKeyMissingError } from './errors.js';

export interface ComplianceRouteDeps {
  hubId: string;
  person: PersonSources;
  pseudonymizer?: Pseudonymizer;
  /** GDPR erasure from the job history: the users list and the rewrite (absent without gdpr, a key and the history). */
  pseudonymizeHistory?: { users: PseudonymizedUsers; rewrite: (user: string, pseudonym: string, word: string) => Promise<{ rows: number; partitions: number; not_owned: string[] }> };
  report: Omit<ReportInputs, 'now' | 'hubId'>;
  now?: () => number;
}

const open = { type: 'object', additionalProperties: true } as const;
const text = { type: 'string' } as const;
const REPORT = {
  type: 'object',
  additionalProperties: false,
  required: ['generated_at', 'hub_id', 'frameworks', 'summary', 'controls'],
  properties: {
    generated_at: text,
    hub_id: text,
    frameworks: { type: 'array', items: text },
    summary: { type: 'object', additionalProperties: false, required: ['pass', 'fail', 'info'], properties: { pass: { type: 'integer' }, fail: { type: 'integer' }, info: { type: 'integer' } } },
    controls: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['id', 'title', 'frameworks', 'status', 'evidence'],
        properties: { id: text, title: text, frameworks: { type: 'array', items: text }, status: { type: 'string', enum: ['pass', 'fail', 'info'] }, evidence: text },
      },
    },
  },
} as const;

export function registerComplianceRoutes(app: FastifyInstance, deps: ComplianceRouteDeps): void {
  const now = deps.now ?? Date.now;
  app.get(
    '/api/v1/compliance/person/:name',
    {
      config: { permission: 'compliance:export' },
      schema: {
        summary: 'GDPR subject access: everything this hub holds about one person (history, audit records, logins, tokens, alert acks), pseudonymised on request',
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 256 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { pseudonymize: { type: 'boolean', default: false } } },
        response: { 200: open },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { pseudonymize } = request.query as { pseudonymize: boolean };
      const pseudonymizer = pseudonymize ? requirePseudonymizer(deps.pseudonymizer) : undefined;
      const out = await exportPerson(deps.person, name, { hubId: deps.hubId, now: now(), pseudonymizer });
      setAuditContext(request, { resource: `person ${name}${pseudonymize ? ' (pseudonymised)' : ''}: ${out.history.jobs.length} jobs, ${out.audit_records.length} audit records` });
      return out;
    },
  );
  app.post(
    '/api/v1/compliance/pseudonymize',
    {
      config: { permission: 'compliance:erase' },
      schema: {
        summary: 'GDPR: replace a user name by its pseudonym in the stored job history, now and in every run stored later (the name is in the body, so no URL or audit record holds it)',
        body: { type: 'object', additionalProperties: false, required: ['user'], properties: { user: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^\\s]+$' } } },
        response: { 200: { type: 'object', additionalProperties: false, required: ['pseudonym', 'rows', 'partitions', 'not_owned'], properties: { pseudonym: text, rows: { type: 'integer' }, partitions: { type: 'integer' }, not_owned: { type: 'array', items: text } } } },
      },
    },
    async (request) => {
      const { user } = request.body as { user: string };
      const erase = deps.pseudonymizeHistory;
      if (!erase) throw new PseudonymKeyMissingError();
      // The list first: a run the backfill writes from now on is stored under the pseudonym.
      const pseudonym = await erase.users.add(user);
      setAuditContext(request, { resource: `person ${pseudonym} (pseudonymised)` });
      const done = await erase.rewrite(user, pseudonym, userWordPattern(user));
      setAuditContext(request, { resource: `person ${pseudonym} (pseudonymised): ${done.rows} history runs in ${done.partitions} partitions${done.not_owned.length ? `; written by other hubs: ${done.not_owned.join(', ')}` : ''}` });
      return { pseudonym, ...done };
    },
  );
  app.get(
    '/api/v1/compliance/report',
    {
      config: { permission: 'compliance:report' },
      schema: {
        summary: "Evidence of each control's state (audit chain, retention, encryption, TLS, MFA, RBAC, backups), per framework",
        querystring: { type: 'object', additionalProperties: false, properties: { framework: { type: 'string', enum: [...FRAMEWORKS] } } },
        response: { 200: REPORT },
      },
    },
    async (request) => {
      const { framework } = request.query as { framework?: Framework };
      const report = await complianceReport({ ...deps.report, hubId: deps.hubId, now: now() }, framework);
      setAuditContext(request, { resource: `compliance report ${report.frameworks.join(',')}: ${report.summary.fail} failing` });
      return report;
    },
  );
}
