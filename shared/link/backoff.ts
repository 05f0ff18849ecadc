/**
 * Jittered exponential backoff for reconnects. mqtt.js reconnects on a fixed period (1 s by
 * default), so a restarted broker is hit by the whole fleet at once (mqttjs/MQTT.js#398, #607).
 * "Equal jitter": half the exponential delay is kept so nobody retries in a hot loop, the other
 * half is random so a fleet spreads out over the window.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
