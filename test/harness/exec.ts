// One command to completion (the service scripts, Slurm's clients): its stdout, or an error
// that names the command and ends with its stderr.
import { execFile } from 'node:child_process';

export interface ExecOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** How the error names the command (default: the command line, cut short). */
  what?: string;
  /** Written to the command's stdin, then closed (a password for kinit). */
  stdin?: string;
}

export function execText(file: string, args: string[], opts: ExecOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: opts.env, timeout: opts.timeoutMs, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const what = opts.what ?? `${file} ${args.join(' ').slice(0, 120)}`;
      if (err) reject(new Error(`${what} failed: ${String(stderr).trim().slice(-2000) || err.message}`));
      else resolve(stdout);
    });
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  });
}
