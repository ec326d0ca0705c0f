// slurmdbd's QOS, accounts and associations, per API version.
import type { SimAccount, SimAssociation, SimQos } from '../engine/index.js';
import { INFINITE, num, type NoVal, type RenderContext } from './common.js';

export function renderQos(ctx: RenderContext, q: SimQos): Record<string, unknown> {
  const n = ctx.v.n;
  if (n === 38) {
    const none = { account: null, user: null };
    return {
      description: q.description,
      flags: q.flags,
      id: q.id,
      limits: {
        grace_time: 0,
        max: {
          active_jobs: { accruing: null, count: null },
          tres: { total: [], minutes: { per: { qos: [], job: [], account: [], user: [] } }, per: { account: [], job: [], node: [], user: [] } },
          wall_clock: { per: { qos: null, job: q.maxWallMin ?? null } },
          jobs: { active_jobs: { per: none }, per: none },
          accruing: { per: none },
        },
        factor: null,
        min: { priority_threshold: null, tres: { per: { job: [] } } },
      },
      name: q.name,
      preempt: { list: [], mode: [], exempt_time: null },
      priority: q.priority,
      usage_factor: 1,
      usage_threshold: null,
    };
  }
  const per = () => ({ account: INFINITE, user: INFINITE });
  const jobs: Record<string, unknown> = n >= 42 ? { count: INFINITE, active_jobs: { per: per() }, per: per() } : { active_jobs: { per: per() }, per: per() };
  const minutes: Record<string, unknown> = { per: { qos: [], job: [], account: [], user: [] } };
  return {
    description: q.description,
    flags: q.flags,
    id: q.id,
    limits: {
      grace_time: n >= 40 ? 0 : num(0),
      max: {
        active_jobs: { accruing: INFINITE, count: INFINITE },
        tres: { total: [], minutes: n >= 42 ? { total: [], ...minutes } : minutes, per: { account: [], job: [], node: [], user: [] } },
        wall_clock: { per: { qos: INFINITE, job: q.maxWallMin === undefined ? INFINITE : num(q.maxWallMin) } },
        jobs,
        accruing: { per: per() },
      },
      factor: n >= 40 ? INFINITE : 4294967295.0,
      min: { priority_threshold: INFINITE, tres: { per: { job: [] } } },
    },
    name: q.name,
    preempt: { list: [], mode: ['DISABLED'], exempt_time: INFINITE },
    priority: num(q.priority),
    usage_factor: num(1),
    usage_threshold: INFINITE,
  };
}

export function renderAccount(ctx: RenderContext, a: SimAccount): Record<string, unknown> {
  const n = ctx.v.n;
  const associations = ctx.engine.associations
    .filter((x) => x.account === a.name)
    .map((x) => ({ account: x.account, cluster: ctx.engine.cluster, partition: n === 38 ? null : '', user: n === 38 ? x.user || null : x.user }));
  return {
    associations,
    coordinators: a.coordinators.map((name) => ({ name, direct: true })),
    description: a.description,
    name: a.name,
    organization: a.organization,
    flags: [],
  };
}

export function renderAssociation(ctx: RenderContext, a: SimAssociation): Record<string, unknown> {
  const n = ctx.v.n;
  const cluster = ctx.engine.cluster;
  if (n === 38) {
    return {
      account: a.account,
      cluster,
      default: { qos: a.defaultQos || null },
      flags: [],
      max: {
        jobs: { per: { count: null, accruing: null, submitted: null, wall_clock: null }, active: null, accruing: null, total: null },
        tres: { total: [], minutes: { per: { job: [] }, total: [] }, group: { minutes: [], active: [] }, per: { job: [], node: [] } },
        per: { account: { wall_clock: null } },
      },
      is_default: a.isDefault ? 1 : 0,
      min: { priority_threshold: null },
      parent_account: a.parentAccount || null,
      partition: a.partition || null,
      priority: null,
      qos: a.qos,
      shares_raw: 1,
      usage: null,
      user: a.user || null,
    };
  }
  const inf = (): NoVal => INFINITE;
  const max = {
    jobs: { per: { count: inf(), accruing: inf(), submitted: inf(), wall_clock: inf() }, active: inf(), accruing: inf(), total: inf() },
    tres: { total: [], group: { minutes: [], active: [] }, minutes: { total: [], per: { job: [] } }, per: { job: [], node: [] } },
    per: { account: { wall_clock: inf() } },
  };
  if (n === 39) {
    return {
      account: a.account,
      cluster,
      default: { qos: a.defaultQos },
      flags: [],
      max,
      is_default: a.isDefault,
      min: { priority_threshold: INFINITE },
      parent_account: a.parentAccount,
      partition: a.partition,
      priority: INFINITE,
      qos: a.qos,
      shares_raw: 1,
      user: a.user,
    };
  }
  return {
    accounting: [],
    account: a.account,
    cluster,
    comment: '',
    default: { qos: a.defaultQos },
    flags: [],
    max,
    id: n === 40 ? { account: a.account, cluster, partition: a.partition, user: a.user, id: a.id } : a.id,
    is_default: a.isDefault,
    lineage: a.user ? `/0-root/${a.account}/0-${a.user}/` : a.account === 'root' ? '/0-root/' : `/0-root/${a.account}/`,
    min: { priority_threshold: INFINITE },
    parent_account: a.parentAccount,
    partition: a.partition,
    priority: INFINITE,
    qos: a.qos,
    shares_raw: 1,
    user: a.user,
  };
}

