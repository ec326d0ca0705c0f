// The systemd units users install: systemd itself must accept them without a word, and they
// must keep the hardening the security guide promises (no capabilities, read-only system,
// no privilege gain), whatever someone edits later.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

function directives(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of readFileSync(`deploy/systemd/${unit}`, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!]);
  }
  return found;
}

describe('systemd units', () => {
  it('systemd-analyze verify accepts both units with nothing on stderr, exposure OK', async () => {
    const { stdout, stderr } = await run('bash', ['scripts/release/verify-units.sh']);
    expect(stderr).toBe('');
    const scores = Object.fromEntries(
      stdout.trim().split('\n').map((l) => l.split(' ')).map(([, unit, score]) => [unit, Number(score)]),
    );
    // systemd calls 0-2.9 "OK"; an unhardened service scores 9.6.
    expect(scores['sfleet-agent.service']).toBeLessThan(3);
    expect(scores['sfleet-hub.service']).toBeLessThan(3);
  }, 60_000);

  for (const unit of ['sfleet-agent.service', 'sfleet-hub.service']) {
    it(`${unit} runs as its own user with no capabilities on a read-only system`, () => {
      const d = directives(unit);
      expect(d.get('User')?.[0]).toMatch(/^sfleet-(agent|hub)$/);
      expect(d.get('CapabilityBoundingSet')).toEqual(['']);
      expect(d.get('NoNewPrivileges')).toEqual(['true']);
      expect(d.get('ProtectSystem')).toEqual(['strict']);
      expect(d.get('StateDirectory')?.length).toBe(1);
      expect(d.get('Restart')).toEqual(['on-failure']);
      expect(d.get('StandardOutput')).toEqual(['journal']);
    });
  }
});
