// One fetch shared by every caller: while a poll is in flight, more poll() calls join it
// instead of asking Slurm again. A caller's AbortSignal only detaches that caller; the shared
// fetch goes on for the others (and ends at its own timeout or at close()).
export class SingleFlight<T> {
  private current?: Promise<T>;

  run(start: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.current) {
      const p = start().finally(() => {
        if (this.current === p) this.current = undefined;
      });
      this.current = p;
    }
    return signal ? detachable(this.current, signal) : this.current;
  }
}

function detachable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
