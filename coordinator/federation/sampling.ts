/**
 * Which agents train in a round: a uniform random subset of `candidates` (Fisher-Yates on a copy)
 * of ⌈fraction·n⌉ agents, at least `min` and at most `max`, sorted so the round message is stable.
 */
export function sampleAgents(candidates: readonly string[], o: { fraction: number; min: number; max: number }, rand: () => number): string[] {
  const pool = [...new Set(candidates)];
  const k = Math.min(pool.length, o.max, Math.max(o.min, Math.ceil(o.fraction * pool.length)));
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k).sort();
}
