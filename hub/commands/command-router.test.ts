// A forwarded command sent again (its first forward cut) carries the same id: both callers hear
// the agent's one answer, and the first caller's timer never removes the later waiter.
import { describe, expect, it, vi } from 'vitest';
import { Command, CommandResult } from '../../generated/fleet/v1/agent.js';
import { CommandRouter } from './command-router.js';

describe('CommandRouter: the same forwarded command twice', () => {
  it('answers both callers with the one result, even after the first caller would have timed out', async () => {
    vi.useFakeTimers();
    try {
      const router = new CommandRouter({ timeoutMs: 1_000 });
      const sent: Command[] = [];
      router.attach('c1', (c) => sent.push(c));
      const command = Command.fromPartial({ id: 'cmd-1', idempotency_key: 'k:1' });
      const first = router.runForwarded('c1', command);
      vi.advanceTimersByTime(600);
      const second = router.runForwarded('c1', command);
      // Past the first send's deadline, within the second's.
      vi.advanceTimersByTime(600);
      router.resolve(CommandResult.fromPartial({ id: 'cmd-1', ok: true, message: 'cancelled' }));
      await expect(second).resolves.toMatchObject({ ok: true, message: 'cancelled' });
      await expect(first).resolves.toMatchObject({ ok: true, message: 'cancelled' });
      expect(sent).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a resend that gets no answer still times out, once, for both callers', async () => {
    vi.useFakeTimers();
    try {
      const router = new CommandRouter({ timeoutMs: 1_000 });
      router.attach('c1', () => undefined);
      const command = Command.fromPartial({ id: 'cmd-2' });
      const first = router.runForwarded('c1', command);
      const second = router.runForwarded('c1', command);
      const both = Promise.allSettled([first, second]);
      vi.advanceTimersByTime(1_001);
      const [a, b] = await both;
      expect(a).toMatchObject({ status: 'rejected', reason: { code: 'SF_AGENT_COMMAND_TIMEOUT' } });
      expect(b).toMatchObject({ status: 'rejected', reason: { code: 'SF_AGENT_COMMAND_TIMEOUT' } });
    } finally {
      vi.useRealTimers();
    }
  });
});
