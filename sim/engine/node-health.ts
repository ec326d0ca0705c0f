// Nodes going bad and coming back: random failures at the configured rate (a failed node recovers
// 5 to 30 minutes later), the operator's drain, down and resume, and the down and drained nodes a
// real site has from the start. A node going DOWN ends the jobs running on it as NODE_FAIL.
import { NODE_FAILURE_REASONS } from './catalog.js';
import type { JobLifecycle } from './job-lifecycle.js';
import type { EngineState } from './state.js';
import type { SimNode } from './types.js';

export class NodeHealth {
  constructor(
    private readonly s: EngineState,
    private readonly lifecycle: JobLifecycle,
  ) {}

  /** One node down and one drained from the start (on clusters of 8+ nodes), as on any real site. */
  breakSomeNodes(now: number): void {
    const s = this.s;
    if (s.nodes.length < 8) return;
    const down = s.nodes[s.nodes.length - 1 - s.rng.int(0, Math.floor(s.nodes.length / 8))];
    down.down = true;
    setNodeReason(down, 'Not responding', 'slurm', now - s.rng.int(60, 600));
    down.seq++;
    s.recoverQueue.push({ t: now + s.rng.int(600, 3600), id: down.index, seq: down.seq });
    let drained = s.nodes[s.rng.int(0, s.nodes.length - 1)];
    if (drained === down) drained = s.nodes[(down.index + 1) % s.nodes.length];
    drained.drain = true;
    setNodeReason(drained, 'disk replacement scheduled', 'root', now - s.rng.int(600, 7200));
  }

  /** Brings back the failed nodes whose recovery time has come; returns how many. */
  recoverDue(now: number): number {
    const s = this.s;
    let recovered = 0;
    for (let e = s.recoverQueue.peek(); e && e.t <= now; e = s.recoverQueue.peek()) {
      s.recoverQueue.pop();
      const node = s.nodes[e.id];
      if (node.seq !== e.seq || !node.down) continue;
      node.down = false;
      if (!node.drain) setNodeReason(node, '', '', 0);
      node.bootTime = e.t;
      node.slurmdStartTime = e.t;
      s.freeCpus.refile(node);
      s.markNodes(now);
      recovered++;
    }
    return recovered;
  }

  /** Fails as many random nodes as the failure rate draws for `dtMs`; returns how many went down. */
  failRandomNodes(dtMs: number, now: number): number {
    let failed = 0;
    const failures = this.s.rng.poisson((this.s.options.nodeFailurePerHour * dtMs) / 3_600_000);
    for (let i = 0; i < failures; i++) if (this.failRandomNode(now)) failed++;
    return failed;
  }

  drain(name: string, reason: string, now: number): void {
    const node = this.s.mustNode(name);
    node.drain = true;
    setNodeReason(node, reason || 'drained by sfleet', 'root', now);
    this.s.freeCpus.refile(node);
    this.s.markNodes(now);
  }

  /** `scontrol update nodename=X state=down reason=...`: DOWN until resumed, running jobs NODE_FAIL. */
  down(name: string, reason: string, now: number): void {
    const node = this.s.mustNode(name);
    this.takeDown(node, reason || 'set down by sfleet', 'root', now);
  }

  resume(name: string, now: number): void {
    const node = this.s.mustNode(name);
    node.drain = false;
    if (node.down) {
      node.down = false;
      node.seq++;
      node.bootTime = now;
      node.slurmdStartTime = now;
    }
    setNodeReason(node, '', '', 0);
    this.s.freeCpus.refile(node);
    this.s.markNodes(now);
  }

  private failRandomNode(now: number): boolean {
    const s = this.s;
    for (let attempt = 0; attempt < 8; attempt++) {
      const node = s.nodes[s.rng.int(0, s.nodes.length - 1)];
      if (node.down) continue;
      this.takeDown(node, s.rng.pick(NODE_FAILURE_REASONS), 'slurm', now);
      s.recoverQueue.push({ t: now + s.rng.int(300, 1800), id: node.index, seq: node.seq });
      return true;
    }
    return false;
  }

  /** Marks a node DOWN; the jobs running on it end as NODE_FAIL. */
  private takeDown(node: SimNode, reason: string, by: string, now: number): void {
    const s = this.s;
    node.down = true;
    setNodeReason(node, reason, by, now);
    const victims = new Set<number>();
    for (const owner of node.coreOwner) if (owner !== 0) victims.add(owner);
    for (const id of victims) {
      const job = s.jobs.get(id);
      if (job && job.state === 'RUNNING') {
        this.lifecycle.endJob(job, 'NODE_FAIL', now, now, 0, 0, 'NodeDown');
        s.stats.failed++;
      }
    }
    s.freeCpus.refile(node);
    node.seq++;
    s.markNodes(now);
  }
}

function setNodeReason(node: SimNode, reason: string, by: string, at: number): void {
  node.reason = reason;
  node.reasonSetBy = by;
  node.reasonTime = at;
}
