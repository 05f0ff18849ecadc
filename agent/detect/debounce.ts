import { z } from 'zod';

/**
 * Hysteresis between "a score crossed the threshold" and "an anomaly": an anomaly opens when k
 * of the last n ticks were over the threshold, and closes only after m consecutive clean ticks.
 * One noisy tick (k > 1) never alarms; a flapping score (over, clean, over...) stays one
 * anomaly instead of a storm of open/close events.
 */
/**
 * Defaults for the base model's 10-row window: one outlier sample lies in 10 consecutive windows,
 * so only k > W keeps a one-second blip from opening an anomaly. k = 12 of n = 15 opens after
 * about 12 s of sustained trouble; lower k with a shorter-window model.
 */
export const DebounceOptionsSchema = z
  .strictObject({
    k: z.number().int().min(1).default(12),
    n: z.number().int().min(1).max(64).default(15),
    m: z.number().int().min(1).default(15),
  })
  .refine((o) => o.k <= o.n, { message: 'k must not exceed n' });
export type DebounceOptions = z.infer<typeof DebounceOptionsSchema>;
export type DebounceOptionsInput = z.input<typeof DebounceOptionsSchema>;

export interface DebounceState {
  open: boolean;
  /** While closed: the last (up to n) ticks, oldest first, true = over the threshold. */
  recent: readonly boolean[];
  /** While open: consecutive clean ticks so far. */
  clean: number;
}

export const INITIAL_DEBOUNCE: DebounceState = { open: false, recent: [], clean: 0 };

export interface DebounceStep {
  state: DebounceState;
  transition: 'opened' | 'closed' | null;
}

/** One tick of the state machine. Pure: the same state and input give the same step. */
export function debounceStep(s: DebounceState, over: boolean, o: DebounceOptions): DebounceStep {
  if (s.open) {
    const clean = over ? 0 : s.clean + 1;
    // Closing forgets the history, so the ticks of the closed anomaly cannot reopen it at once.
    if (clean >= o.m) return { state: INITIAL_DEBOUNCE, transition: 'closed' };
    return { state: { open: true, recent: [], clean }, transition: null };
  }
  const recent = [...s.recent, over].slice(-o.n);
  if (recent.filter(Boolean).length >= o.k) return { state: { open: true, recent: [], clean: 0 }, transition: 'opened' };
  return { state: { open: false, recent, clean: 0 }, transition: null };
}
