// One cluster's jobs in ascending id order, for keyset pagination: a page of the jobs query
// walks forward from its cursor instead of collecting and sorting every candidate. Two parallel
// arrays (ids, jobs); a removed job leaves a hole (undefined) that compaction clears later, so
// removal is O(log n) and new jobs, whose ids Slurm hands out in increasing order, are appended.
import type { Job } from '../../shared/model/index.js';

export class JobOrder {
  private ids: number[] = [];
  private jobs: (Job | undefined)[] = [];
  private holes = 0;

  get size(): number {
    return this.ids.length - this.holes;
  }

  /** Adds or replaces the job with this id. */
  set(id: number, job: Job): void {
    const n = this.ids.length;
    if (n === 0 || id > this.ids[n - 1]) {
      this.ids.push(id);
      this.jobs.push(job);
      return;
    }
    const i = this.lowerBound(id);
    if (this.ids[i] === id) {
      if (this.jobs[i] === undefined) this.holes--;
      this.jobs[i] = job;
      return;
    }
    this.ids.splice(i, 0, id);
    this.jobs.splice(i, 0, job);
  }

  delete(id: number): void {
    const i = this.lowerBound(id);
    if (this.ids[i] !== id || this.jobs[i] === undefined) return;
    this.jobs[i] = undefined;
    this.holes++;
    if (this.holes > 1024 && this.holes * 2 > this.ids.length) this.compact();
  }

  get(id: number): Job | undefined {
    const i = this.lowerBound(id);
    return this.ids[i] === id ? this.jobs[i] : undefined;
  }

  /** Slots in ascending id order; undefined where a job was removed. Read only. */
  get slots(): readonly (Job | undefined)[] {
    return this.jobs;
  }

  /** The first slot whose id is above `after`. */
  indexAfter(after: number): number {
    return after < 0 ? 0 : this.upperBound(after);
  }

  /** Calls visit with each job whose id is above `after`, ascending, until it returns false. */
  forEachAfter(after: number, visit: (job: Job) => boolean): void {
    const jobs = this.jobs;
    for (let i = after < 0 ? 0 : this.upperBound(after); i < jobs.length; i++) {
      const job = jobs[i];
      if (job !== undefined && !visit(job)) return;
    }
  }

  /** First index whose id is >= id. */
  private lowerBound(id: number): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose id is > id. */
  private upperBound(id: number): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid] <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const ids: number[] = [];
    const jobs: Job[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const job = this.jobs[i];
      if (job === undefined) continue;
      ids.push(this.ids[i]);
      jobs.push(job);
    }
    this.ids = ids;
    this.jobs = jobs;
    this.holes = 0;
  }
}
