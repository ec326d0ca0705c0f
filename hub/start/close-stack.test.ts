import { describe, expect, it } from 'vitest';
import { FleetError } from '../../shared/errors/index.js';
import { CloseStack, HubStartError } from './close-stack.js';

function recording(): { stack: CloseStack; closed: string[]; failures: [string, string][] } {
  const closed: string[] = [];
  const failures: [string, string][] = [];
  const stack = new CloseStack((name, err) => failures.push([name, (err as Error).message]));
  return { stack, closed, failures };
}

describe('CloseStack', () => {
  it('closes last-in-first-out, waiting for each async close before the next', async () => {
    const { stack, closed } = recording();
    stack.defer('audit log', () => void closed.push('audit log'));
    stack.defer('store', async () => {
      await new Promise((r) => setTimeout(r, 20));
      closed.push('store');
    });
    stack.defer('listener', () => void closed.push('listener'));
    await stack.close();
    expect(closed).toEqual(['listener', 'store', 'audit log']);
  });

  it('a close that throws (or rejects) is reported and the others still close', async () => {
    const { stack, closed, failures } = recording();
    stack.defer('first', () => void closed.push('first'));
    stack.defer('throws', () => {
      throw new Error('boom');
    });
    stack.defer('rejects', () => Promise.reject(new Error('async boom')));
    stack.defer('last', () => void closed.push('last'));
    await stack.close();
    expect(closed).toEqual(['last', 'first']);
    expect(failures).toEqual([
      ['rejects', 'async boom'],
      ['throws', 'boom'],
    ]);
  });

  it('closes once: a second close (even while the first runs) waits for the first and closes nothing again', async () => {
    const { stack, closed } = recording();
    let release!: () => void;
    stack.defer('slow', () => new Promise<void>((r) => (release = r)).then(() => void closed.push('slow')));
    stack.defer('fast', () => void closed.push('fast'));
    const first = stack.close();
    const second = stack.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toEqual(['fast']);
    release();
    await Promise.all([first, second]);
    await stack.close();
    expect(closed).toEqual(['fast', 'slow']);
  });

  it('refuses a registration once closing (what opens after close would never close)', async () => {
    const { stack } = recording();
    await stack.close();
    expect(() => stack.defer('late', () => undefined)).toThrow(/cannot register "late": the hub is closing/);
  });

  it('a stage that succeeds returns its value and closes nothing', async () => {
    const { stack, closed } = recording();
    stack.defer('foundations part', () => void closed.push('foundations part'));
    await expect(stack.stage('fleet', async () => 42)).resolves.toBe(42);
    expect(closed).toEqual([]);
  });

  it('a stage that fails rolls back everything opened so far, its own parts first, and names the stage', async () => {
    const { stack, closed } = recording();
    await stack.stage('foundations', () => {
      stack.defer('audit log', () => void closed.push('audit log'));
    });
    await stack.stage('fleet', () => {
      stack.defer('store', () => void closed.push('store'));
    });
    const failed = stack.stage('region', async () => {
      stack.defer('etcd client', () => void closed.push('etcd client'));
      throw new Error('etcd unreachable at http://127.0.0.1:1: no answer');
    });
    await expect(failed).rejects.toBeInstanceOf(HubStartError);
    const err = (await failed.catch((e: unknown) => e)) as HubStartError;
    expect(err).toBeInstanceOf(FleetError);
    expect(err.message).toBe('hub start failed at stage "region": etcd unreachable at http://127.0.0.1:1: no answer');
    expect(err.stage).toBe('region');
    expect(err.code).toBe('SF_HUB_START_FAILED');
    expect((err.cause as Error).message).toMatch(/^etcd unreachable/);
    expect(closed).toEqual(['etcd client', 'store', 'audit log']);
  });

  it('a failed rollback step does not hide the start error or stop the rest of the rollback', async () => {
    const { stack, closed, failures } = recording();
    stack.defer('audit log', () => void closed.push('audit log'));
    stack.defer('listener', () => {
      throw new Error('already closed');
    });
    await expect(
      stack.stage('listeners', () => {
        throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:8443');
      }),
    ).rejects.toThrow('hub start failed at stage "listeners": listen EADDRINUSE: address already in use 127.0.0.1:8443');
    expect(closed).toEqual(['audit log']);
    expect(failures).toEqual([['listener', 'already closed']]);
  });
});
