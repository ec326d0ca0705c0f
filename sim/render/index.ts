// Whole slurmrestd response bodies for one API version, from the simulated cluster. Pure: the
// server decides statuses and headers; this only builds JSON text (streamed for big lists).
import type { SimEngine, SimJob, SimNode } from '../engine/index.js';
import { envelope, num, pretty, renderContext, streamJson, type Plugin, type RenderContext, type SlurmErrorEntry } from './common.js';
import { controllerHost, renderDiag, renderPing } from './controller.js';
import { renderJob } from './job.js';
import { renderNode } from './node.js';
import { renderPartition, renderReservation } from './partition.js';
import { renderAccount, renderAssociation, renderQos } from './slurmdb.js';
import { versionInfo, type ApiVersion } from './versions.js';

export { API_VERSIONS, isApiVersion, versionInfo, type ApiVersion, type VersionInfo } from './versions.js';
export { renderJob } from './job.js';
export { renderNode } from './node.js';
export { renderPartition, renderReservation } from './partition.js';
export { renderQos, renderAccount, renderAssociation } from './slurmdb.js';
export { renderPing, renderDiag, controllerHost } from './controller.js';
export { renderContext, num, UNSET, INFINITE, type RenderContext, type NoVal } from './common.js';

/** Renders every endpoint of one API version for one request (`user` echoes into meta.client). */
export class SlurmRenderer {
  readonly ctx: RenderContext;

  constructor(engine: SimEngine, version: ApiVersion, user = 'root', clientSource?: string) {
    this.ctx = renderContext(engine, versionInfo(version), user, clientSource);
  }

  private get n(): number {
    return this.ctx.v.n;
  }

  private lastBackfill(): unknown {
    const now = this.ctx.engine.now;
    return num(now - (now % 30));
  }

  jobs(): Iterable<string> {
    const ctx = this.ctx;
    const extras = this.n >= 40 ? { last_backfill: this.lastBackfill(), last_update: num(ctx.engine.lastUpdate.jobs) } : {};
    const body = envelope(ctx, 'slurmctld', { jobs: null }, { extras });
    // The membership is fixed now (ticks may run while a big answer streams out).
    return streamJson(body, 'jobs', [...ctx.engine.jobs()], (j: SimJob) => renderJob(ctx, j));
  }

  job(job: SimJob): string {
    const extras = this.n >= 40 ? { last_backfill: this.lastBackfill(), last_update: num(this.ctx.engine.lastUpdate.jobs) } : {};
    return pretty(envelope(this.ctx, 'slurmctld', { jobs: [renderJob(this.ctx, job)] }, { extras }));
  }

  /** Unknown (or purged) job: v0.0.38 answers this with HTTP 500, later versions with 404. */
  jobNotFound(id: string): string {
    if (this.n === 38) {
      return this.errors('slurmctld', [{ description: `Unable to find JobId=${id}`, error_number: 2017, error: 'Invalid job id specified', source: 'slurm_load_job' }]);
    }
    const error: SlurmErrorEntry = { description: `Unable to query JobId=${id}`, error_number: 2017, error: 'Invalid job id specified', source: '_handle_job_get' };
    if (this.n === 39) return this.errors('slurmctld', [error]);
    return pretty(envelope(this.ctx, 'slurmctld', { jobs: [] }, { errors: [error], extras: { last_backfill: num(0), last_update: num(0) } }));
  }

  nodes(): Iterable<string> {
    const ctx = this.ctx;
    const extras = this.n >= 40 ? { last_update: num(ctx.engine.lastUpdate.nodes) } : {};
    const body = envelope(ctx, 'slurmctld', { nodes: null }, { extras });
    return streamJson(body, 'nodes', ctx.engine.nodes, (n: SimNode) => renderNode(ctx, n));
  }

  node(node: SimNode): string {
    const extras = this.n >= 40 ? { last_update: num(this.ctx.engine.lastUpdate.nodes) } : {};
    return pretty(envelope(this.ctx, 'slurmctld', { nodes: [renderNode(this.ctx, node)] }, { extras }));
  }

  /** Unknown node: HTTP 200 with an errors entry ("No error", source _dump_nodes), as recorded. */
  nodeNotFound(name: string): string {
    const error: SlurmErrorEntry = { description: `Failure to query node ${name}`, error_number: 0, error: 'No error', source: '_dump_nodes' };
    if (this.n <= 39) return pretty(envelope(this.ctx, 'slurmctld', { nodes: [] }, { errors: [error] }));
    const full = envelope(this.ctx, 'slurmctld', {}, { errors: [error] });
    return pretty({ errors: full.errors, warnings: full.warnings, meta: full.meta });
  }

  /** The 22.05 bug: nodes?update_time when nodes changed but partitions did not. */
  nodesUpdateTimeBug(): string {
    const meta = envelope(this.ctx, 'slurmctld', {}).meta;
    return pretty({ meta, errors: [{ error: 'Unspecified error', errno: -1 }], nodes: [] });
  }

  partitions(): string {
    const extras = this.n >= 40 ? { last_update: num(this.ctx.engine.lastUpdate.partitions) } : {};
    const list = this.ctx.engine.partitions.map((p) => renderPartition(this.ctx, p));
    return pretty(envelope(this.ctx, 'slurmctld', { partitions: list }, { extras }));
  }

  partition(name: string): string | undefined {
    const p = this.ctx.engine.partition(name);
    if (!p) return undefined;
    const extras = this.n >= 40 ? { last_update: num(this.ctx.engine.lastUpdate.partitions) } : {};
    return pretty(envelope(this.ctx, 'slurmctld', { partitions: [renderPartition(this.ctx, p)] }, { extras }));
  }

  reservations(): string {
    const extras = this.n >= 40 ? { last_update: num(this.ctx.engine.startedAt) } : {};
    const list = this.ctx.engine.reservations.map((r) => renderReservation(this.ctx, r));
    return pretty(envelope(this.ctx, 'slurmctld', { reservations: list }, { extras }));
  }

  ping(): string {
    return pretty(envelope(this.ctx, 'slurmctld', { pings: [renderPing(this.ctx)] }));
  }

  diag(): string {
    return pretty(envelope(this.ctx, 'slurmctld', { statistics: renderDiag(this.ctx) }));
  }

  qos(): string {
    // dbv0.0.38 called the list "QOS".
    const key = this.n === 38 ? 'QOS' : 'qos';
    return pretty(envelope(this.ctx, 'slurmdbd', { [key]: this.ctx.engine.qos.map((q) => renderQos(this.ctx, q)) }));
  }

  accounts(): string {
    return pretty(envelope(this.ctx, 'slurmdbd', { accounts: this.ctx.engine.accounts.map((a) => renderAccount(this.ctx, a)) }));
  }

  associations(): string {
    return pretty(envelope(this.ctx, 'slurmdbd', { associations: this.ctx.engine.associations.map((a) => renderAssociation(this.ctx, a)) }));
  }

  /** Answer to POST /job/{id} that went through. */
  jobUpdated(jobId: number): string {
    const why = 'Job updated';
    if (this.n === 38) return this.errors('slurmctld', []);
    if (this.n === 39) return pretty(envelope(this.ctx, 'slurmctld', { results: [{ job_id: jobId, error_code: 0, error: 'No error', why }] }));
    const result = { job_id: jobId, step_id: 'batch', error_code: 0, error: 'No error', why };
    const payload: Record<string, unknown> = { results: [result] };
    if (this.n <= 41) Object.assign(payload, { job_id: String(jobId), step_id: 'batch', job_submit_user_msg: '' });
    return pretty(envelope(this.ctx, 'slurmctld', payload));
  }

  /**
   * Answer to DELETE /job/{id} that went through. A job that had already ended counts as
   * signalled in every version (slurmrestd's "Already signaled jobs are considered a success"),
   * with a warning from v0.0.39 on; v0.0.42+ also list each signalled job.
   */
  jobSignalled(jobId: number, alreadyDone = false): string {
    const warnings = alreadyDone && this.n >= 39 ? [{ description: 'Job was already sent signal Killed', source: '_handle_job_delete' }] : [];
    if (this.n === 38) return this.errors('slurmctld', []);
    const payload =
      this.n >= 42 ? { status: [{ error: { string: 'No error', code: 0, message: '' }, step_id: 'batch', job_id: num(jobId), federation: { sibling: '' } }] } : {};
    const body = envelope(this.ctx, 'slurmctld', payload);
    body.warnings = warnings;
    return pretty(body);
  }

  /** Answer to POST /node/{name} that went through (v0.0.39+). */
  nodeUpdated(): string {
    return this.errors('slurmctld', []);
  }

  /** An envelope with no payload and these errors. */
  errors(plugin: Plugin, errors: SlurmErrorEntry[]): string {
    return pretty(envelope(this.ctx, plugin, {}, { errors }));
  }

  controllerHost(): string {
    return controllerHost(this.ctx.engine.cluster);
  }
}
