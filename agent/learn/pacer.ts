const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Awaited first by background work started from a message handler: an async function runs
 * synchronously up to its first await, so without this its first sqlite read and copies would
 * run inside the handler, before the PUBACK and ahead of the sampling tick.
 */
export const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The `pause()` long work on the agent's event loop calls between slices (trainer.ts yields every
 * ~10 ms): it rests long enough that work / (work + rest) stays at `cpuShare` of one core, so the
 * sampler's tick is never held up by more than one slice, and it throws once `signal` aborts, so
 * a stop or a passed deadline ends the work at the next slice.
 */
export function cpuPacer(cpuShare: number, signal?: AbortSignal): () => Promise<void> {
  if (!(cpuShare > 0 && cpuShare <= 1)) throw new Error(`cpuShare must be in (0, 1], got ${cpuShare}`);
  let busySince = performance.now();
  return async () => {
    signal?.throwIfAborted();
    const busy = performance.now() - busySince;
    await sleep(cpuShare === 1 ? 0 : (busy * (1 - cpuShare)) / cpuShare);
    signal?.throwIfAborted();
    busySince = performance.now();
  };
}
