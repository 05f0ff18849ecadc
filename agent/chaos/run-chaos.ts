import { startCpuChaos } from './cpu.ts';
import { startDiskChaos } from './disk.ts';
import { startHangChaos } from './hang.ts';
import { killChaos } from './kill.ts';
import { startMemoryChaos } from './memory.ts';
import type { z } from 'zod';
import {
  CpuChaosSchema,
  DiskChaosSchema,
  HangChaosSchema,
  KillChaosSchema,
  MemoryChaosSchema,
  type ChaosHandle,
  type ChaosKind,
  type ChaosOptions,
  type ChaosReport,
} from './options.ts';

/** Validates the options of one fault kind; the message names the field. */
function parse<S extends z.ZodType>(schema: S, kind: ChaosKind, opts: unknown): z.output<S> {
  const r = schema.safeParse(opts);
  if (!r.success) throw new Error(`chaos ${kind}: ${r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Starts a fault and returns at once; every fault ends by itself at its duration. */
export async function startChaos<K extends ChaosKind>(kind: K, opts: ChaosOptions[K]): Promise<ChaosHandle> {
  switch (kind) {
    case 'cpu':
      return startCpuChaos(parse(CpuChaosSchema, 'cpu', opts));
    case 'memory':
      return startMemoryChaos(parse(MemoryChaosSchema, 'memory', opts));
    case 'disk':
      return startDiskChaos(parse(DiskChaosSchema, 'disk', opts));
    case 'hang':
      return startHangChaos(parse(HangChaosSchema, 'hang', opts));
    case 'kill': {
      // Instant: the fault is the crash itself; what follows is the healer's business.
      const done = killChaos(parse(KillChaosSchema, 'kill', opts));
      await done;
      return { kind: 'kill', pids: [], done, stop: () => done };
    }
  }
  throw new Error(`chaos: unknown kind ${JSON.stringify(kind)} (known: cpu, memory, disk, kill, hang)`);
}

/**
 * What `homeostat chaos <kind>` runs: start the fault, wait for it to end (its duration, or
 * earlier if `signal` aborts, e.g. on Ctrl-C), and report what it did.
 */
export async function runChaos<K extends ChaosKind>(kind: K, opts: ChaosOptions[K], signal?: AbortSignal): Promise<ChaosReport> {
  signal?.throwIfAborted();
  const h = await startChaos(kind, opts);
  const onAbort = () => void h.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await h.done;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
