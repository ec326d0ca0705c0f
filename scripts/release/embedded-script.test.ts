import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AGENT_V8_FLAGS } from './embedded-script.js';

describe('AGENT_V8_FLAGS', () => {
  // setFlagsFromString ignores a flag V8 does not know: a misspelt or retired flag would silently
  // do nothing in the binary. On the command line V8 refuses it, so ask this Node there.
  it('are flags this Node accepts', () => {
    expect(AGENT_V8_FLAGS.length).toBeGreaterThan(0);
    expect(execFileSync(process.execPath, [...AGENT_V8_FLAGS, '-p', '"ok"'], { encoding: 'utf8' }).trim()).toBe('ok');
    expect(() => execFileSync(process.execPath, ['--optimise-for-size', '-p', '"ok"'], { stdio: 'pipe' })).toThrow(/bad option/);
  });
});
