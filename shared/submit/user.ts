// Who a job may run as: never root, never the SlurmUser, never a system account (uid < min_uid).
// The hub checks before admission, the agent again before anything reaches Slurm.
import { execFile } from 'node:child_process';
import { ForbiddenError } from '../errors/index.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  home: string;
}

export interface SubmitUserRules {
  min_uid: number;
  /** The SlurmUser (and any other service account) that may never be submitted as. */
  forbidden: readonly string[];
}

/** The passwd entry of `name` (getent: files, LDAP, sssd alike), undefined when there is none. */
export function lookupUser(name: string): Promise<PasswdEntry | undefined> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 5_000 }, (err, stdout) => {
      const f = err ? [] : stdout.trim().split('\n')[0].split(':');
      resolve(f.length >= 6 && f[0] === name && /^\d+$/.test(f[2]) ? { name, uid: Number(f[2]), home: f[5] } : undefined);
    });
  });
}

/** Refuses root, the SlurmUser and uids below min_uid (ForbiddenError); `entry` from lookupUser. */
export function checkSubmitUser(name: string, entry: PasswdEntry | undefined, rules: SubmitUserRules): void {
  if (name === 'root' || rules.forbidden.includes(name)) throw new ForbiddenError(`jobs may not be submitted as ${name}`);
  if (entry && entry.uid < rules.min_uid) throw new ForbiddenError(`jobs may not be submitted as ${name}: uid ${entry.uid} is below submit.min_uid ${rules.min_uid}`);
}
