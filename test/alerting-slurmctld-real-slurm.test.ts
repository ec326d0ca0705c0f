// Issue 13 against the real Slurm 22.05 (scripts/slurm/start.sh), maintenance and a dead controller:
// (a) node4 down pages; slurmctld is SIGKILLed -> cluster_controller_down pages and inhibits the
//     node's alert (its escalation waits, no false "resolved"); slurmctld started again -> the
//     cluster alert resolves and node4's escalation goes on under the same dedup_key.
// (b) nodes in a reservation with flags=maint never page when they go down; the reservation
//     deleted while node3 is still down -> node3 pages.
// Kills slurmctld: integration tests run one at a time under flock, and every path (a failure
// included) starts slurmctld again and waits until every node answers before the lock is freed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookReceiver } from './harness/alert-receivers.js';
import { execText } from './harness/exec.js';
import { startRealSlurmFleet, type RealSlurmFleet } from './harness/real-slurm-fleet.js';
import { ensureSlurm, slurmCli, startSlurmd, stopSlurmd, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt, ROOT } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const SECRET = 'it-ctld-hook-secret';
const ESCALATION_S = 6;
const RESERVATION = 'sfleet-it-maint';
let slurm: SlurmEnv;
let fleet: RealSlurmFleet;
let hook: ReturnType<typeof webhookReceiver>;

interface Notice { status: string; step: number; dedup_key: string; alerts: { labels: Record<string, string> }[] }
interface AlertView { fingerprint: string; state: string; labels: Record<string, string>; inhibited_by: string | null }
const notices = (alertname: string, node?: string): Notice[] =>
  hook.accepted.map((r) => r.body as unknown as Notice).filter((n) => n.alerts.some((a) => a.labels.alertname === alertname && (node === undefined || a.labels.node === node)));
const alerts = async (): Promise<AlertView[]> => {
  const res = await fleet.call('GET', '/api/v1/alerts', fleet.tokens.operator);
  expect(res.status).toBe(200);
  return (res.json as unknown as { items: AlertView[] }).items;
};

/** Down for good: with ReturnToService=2 a running slurmd brings an admin-set DOWN node back. */
async function nodeDown(node: string): Promise<void> {
  await stopSlurmd(slurm, node);
  await slurmCli(slurm, 'scontrol', ['update', `nodename=${node}`, 'state=down', 'reason=it-test']);
}

async function nodeBack(node: string): Promise<void> {
  await startSlurmd(slurm, node);
  await slurmCli(slurm, 'scontrol', ['update', `nodename=${node}`, 'state=resume']).catch(async (err: Error) => {
    const state = (await slurmCli(slurm, 'sinfo', ['-h', '-n', node, '-o', '%t'])).trim();
    if (/down|drain|fail/.test(state)) throw err;
  });
}

const ctldPid = (): number => Number.parseInt(readFileSync(join(slurm.dir, 'run', 'slurmctld.pid'), 'utf8').trim(), 10);
/**
 * Starts slurmctld again (it recovers its saved state) and waits until it and every node answer.
 * Descriptors above 2 are closed first, as scripts/slurm/start.sh does: the daemon must not keep
 * a pipe or lock of the test runner open.
 */
async function startSlurmctld(): Promise<void> {
  const conf = slurm.cliEnv.SLURM_CONF!;
  const alreadyUp = await slurmCli(slurm, 'scontrol', ['ping']).then((o) => /is UP/.test(o), () => false);
  if (!alreadyUp) {
    const script = 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null; done; exec slurmctld -f "$1" </dev/null >>"$2" 2>&1';
    await execText('bash', ['-c', script, 'start-slurmctld', conf, join(slurm.dir, 'log', 'slurmctld.out')], { env: slurm.cliEnv, timeoutMs: 60_000 });
  }
  await waitFor('slurmctld answers', async () => /is UP/.test(await slurmCli(slurm, 'scontrol', ['ping']).catch(() => '')), 60_000, 250);
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  for (const node of ['node3', 'node4']) await slurmCli(slurm, 'scontrol', ['update', `nodename=${node}`, 'state=resume']).catch(() => undefined);
  await slurmCli(slurm, 'scontrol', ['delete', `reservation=${RESERVATION}`]).catch(() => undefined);
  hook = await webhookReceiver(SECRET).start();
  fleet = await startRealSlurmFleet({
    name: 'alerting-ctld',
    slurm,
    tokens: ['operator'],
    hub: {
      alerting: {
        evaluation_interval: '1s',
        group_wait: '0s',
        group_interval: '2s',
        group_by: ['alertname', 'cluster', 'node'],
        keep_firing_for: '2s',
        channels: [{ type: 'webhook', url: `${hook.url}/hook`, secret: SECRET }],
        policies: { critical: { escalation_time: `${ESCALATION_S}s`, channels: ['webhook'] } },
        rules: {
          node_down: { for: '0s', severity: 'critical' },
          cluster_controller_down: { for: '2s' },
          partition_nodes_unavailable: { enabled: false },
          queue_stall: { enabled: false },
          job_failure_burst: { enabled: false },
        },
      },
    },
  });
}, 360_000);

afterAll(async () => {
  // Leave Slurm as found: slurmctld up, node3 and node4 back, no test reservation.
  if (slurm) {
    await startSlurmctld().catch(async () => {
      await execText('bash', [join(ROOT, 'scripts/slurm/start.sh')], { env: slurm.cliEnv, timeoutMs: 300_000 });
    });
    await slurmCli(slurm, 'scontrol', ['delete', `reservation=${RESERVATION}`]).catch(() => undefined);
    for (const node of ['node3', 'node4']) await nodeBack(node).catch(() => undefined);
  }
  await fleet?.stop();
  await hook?.close();
}, 180_000);

describe('alerting and the real Slurm: a dead slurmctld, a MAINT reservation', () => {
  it('slurmctld killed: cluster_controller_down pages and mutes node4 (no resolve, no step); back: it resolves and node4 escalates on', async () => {
    let dedup = '';
    try {
      await nodeDown('node4');
      await waitFor('node4 paged', async () => notices('node_down', 'node4').length >= 1, 30_000, 200);
      dedup = notices('node_down', 'node4')[0].dedup_key;

      process.kill(ctldPid(), 'SIGKILL');
      await waitFor('slurmctld gone', async () => !(await slurmCli(slurm, 'scontrol', ['ping']).then((o) => /is UP/.test(o), () => false)), 15_000, 200);
      const killedAt = Date.now();
      await waitFor('cluster_controller_down paged', async () => notices('cluster_controller_down').some((n) => n.status === 'firing'), 45_000, 250);
      const cluster = notices('cluster_controller_down')[0];
      expect(cluster.alerts[0].labels).toMatchObject({ cluster: slurm.cluster, severity: 'critical' });
      const listed = await alerts();
      const ctldAlert = listed.find((a) => a.labels.alertname === 'cluster_controller_down' && a.state === 'firing')!;
      const node4 = listed.find((a) => a.labels.alertname === 'node_down' && a.labels.node === 'node4')!;
      expect(node4).toMatchObject({ state: 'firing', inhibited_by: ctldAlert.fingerprint });
      // Muted, not resolved: past node4's escalation_time nothing more is said about it.
      const before = notices('node_down', 'node4').length;
      await new Promise((r) => setTimeout(r, Math.max(0, (ESCALATION_S + 3) * 1000 - (Date.now() - killedAt))));
      expect(notices('node_down', 'node4').length).toBe(before);
      expect(notices('node_down', 'node4').some((n) => n.status === 'resolved')).toBe(false);
      // Nothing else of the cluster paged either: the frozen figures are muted.
      const others = hook.accepted.map((r) => r.body as unknown as Notice).filter((n) => n.status === 'firing' && n.alerts.some((a) => a.labels.alertname !== 'cluster_controller_down' && a.labels.alertname !== 'node_down'));
      expect(others.map((n) => n.alerts[0].labels.alertname)).toEqual([]);
    } finally {
      await startSlurmctld();
    }
    await waitFor('cluster_controller_down resolved', async () => notices('cluster_controller_down').some((n) => n.status === 'resolved'), 60_000, 250);
    await waitFor('node4 escalates on (step 2)', async () => notices('node_down', 'node4').some((n) => n.status === 'firing' && n.step === 2), 30_000, 250);
    expect(new Set(notices('node_down', 'node4').map((n) => n.dedup_key))).toEqual(new Set([dedup]));
    expect(hook.refused).toEqual([]);
    await nodeBack('node4');
    await waitFor('node4 resolved', async () => notices('node_down', 'node4').some((n) => n.status === 'resolved'), 30_000, 250);
  }, 300_000);

  it('a node in a flags=maint reservation never pages when down; the reservation deleted, it does', async () => {
    const start = await slurmCli(slurm, 'scontrol', ['create', 'reservation', `reservationname=${RESERVATION}`, 'flags=maint', 'nodes=node3', 'starttime=now', 'duration=30', 'users=root']);
    expect(start).toContain(RESERVATION);
    const earlier = notices('node_down', 'node4').length;
    try {
      await nodeDown('node3');
      await nodeDown('node4'); // the control: same moment, no reservation
      await waitFor('node4 paged', async () => notices('node_down', 'node4').slice(earlier).some((n) => n.status === 'firing'), 30_000, 200);
      // node4's page came from the same polls that carried node3 DOWN; a few more evaluations.
      await new Promise((r) => setTimeout(r, 4_000));
      expect((await slurmCli(slurm, 'sinfo', ['-h', '-n', 'node3', '-o', '%T'])).trim()).toMatch(/down/i);
      expect((await alerts()).filter((a) => a.labels.node === 'node3')).toEqual([]);
      expect(notices('node_down', 'node3')).toEqual([]);
    } finally {
      await slurmCli(slurm, 'scontrol', ['delete', `reservation=${RESERVATION}`]);
    }
    // Maintenance over, node3 still down: now it is an incident.
    await waitFor('node3 paged after the reservation ended', async () => notices('node_down', 'node3').some((n) => n.status === 'firing'), 30_000, 250).catch(async (err) => {
      const node = await fleet.call('GET', `/api/v1/nodes/${slurm.cluster}/node3`, fleet.tokens.operator);
      const res = await fleet.call('GET', '/api/v1/reservations', fleet.tokens.operator);
      console.log('node3 did not page; hub node, reservations, alerts, Slurm:', JSON.stringify(node.json), JSON.stringify(res.json), JSON.stringify(await alerts()), await slurmCli(slurm, 'scontrol', ['show', 'node', 'node3']));
      throw err;
    });
    await nodeBack('node3');
    await nodeBack('node4');
    await waitFor('node3 and node4 resolved', async () => ['node3', 'node4'].every((n) => notices('node_down', n).at(-1)?.status === 'resolved'), 30_000, 250);
  }, 240_000);
});
