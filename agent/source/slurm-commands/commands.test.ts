import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../shared/errors/index.js';
import { checkCommand, cliCall } from './commands.js';

describe('commands', () => {
  it('builds argv without a shell, cleaning the drain reason', () => {
    expect(cliCall(checkCommand({ kind: 'cancel', target: '42' }))).toEqual({ binary: 'scancel', args: ['-v', '42'] });
    expect(cliCall(checkCommand({ kind: 'requeue', target: '42' }))).toEqual({ binary: 'scontrol', args: ['requeue', '42'] });
    expect(cliCall(checkCommand({ kind: 'drain', target: 'gpu-01.rack2', reason: ' bad\tDIMM\n\u0007 slot 3 ' }))).toEqual({
      binary: 'scontrol',
      args: ['update', 'nodename=gpu-01.rack2', 'state=drain', 'reason=bad DIMM slot 3'],
    });
    expect(cliCall(checkCommand({ kind: 'drain', target: 'n1' })).args.at(-1)).toBe('reason=drained by sfleet');
  });

  it('refuses targets that are not plain job ids or node names', () => {
    for (const target of ['', '12a', '-1', '1 2', '$(reboot)']) {
      expect(() => checkCommand({ kind: 'hold', target })).toThrow(BadRequestError);
    }
    for (const target of ['', 'n1 state=down', 'n1;x', 'node[1-2]']) {
      expect(() => checkCommand({ kind: 'resume', target })).toThrow(BadRequestError);
    }
    expect(() => checkCommand({ kind: 'reboot' as never, target: 'n1' })).toThrow(/unknown command/);
  });
});
