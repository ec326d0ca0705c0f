// The V8 flags the agent runs with in production (deploy/systemd/sfleet-agent.service sets them
// in NODE_OPTIONS): a 1 MiB young generation semi-space instead of V8's up to 16 MiB. The agent
// allocates in short bursts (one poll) and keeps little, so a small young generation costs
// next to no CPU and saves about 30 MiB of idle RSS. The agent benchmarks measure it so.
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

// The environment the agent runs with in production (the same unit sets it): glibc's malloc
// with a fixed mmap threshold of 64 KiB. The agent reads slurmrestd's answers in 64 KiB socket
// buffers (2.8 MB a second for 200 jobs at v0.0.41, 320 MB a poll at 100k jobs) that die with
// the next GC. By default glibc raises its mmap threshold to the largest block it has freed, after
// which such buffers come from the brk heap, fragment it and are never given back: 7-10 MiB of
// idle RSS that comes and stays. Fixed at 64 KiB they are mapped and unmapped whole.
export const AGENT_ENV: Readonly<Record<string, string>> = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' };
