// AllocTRES ("billing=4,cpu=4,gres/gpu=2,mem=8G,node=2") to the numbers reports add up.

export interface TresCounts {
  cpus: number;
  gpus: number;
  memory_mb: number;
  node_count: number;
}

const MEM_UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024, P: 1024 ** 3 };

function memoryMb(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/.exec(value);
  if (!m) return 0;
  return Math.round(Number(m[1]) * (MEM_UNITS[m[2] || 'M'] ?? 1));
}

export function parseAllocTres(tres: string): TresCounts {
  const out: TresCounts = { cpus: 0, gpus: 0, memory_mb: 0, node_count: 0 };
  for (const part of tres.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 'cpu') out.cpus = Number(value) || 0;
    else if (key === 'node') out.node_count = Number(value) || 0;
    else if (key === 'mem') out.memory_mb = memoryMb(value);
    // "gres/gpu=2" counts; typed "gres/gpu:a100=2" repeats the same GPUs, so only the untyped one.
    else if (key === 'gres/gpu') out.gpus = Number(value) || 0;
  }
  return out;
}
