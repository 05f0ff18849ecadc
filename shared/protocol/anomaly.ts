import { z } from 'zod';
import { MessageIdSchema } from './ids.ts';

const finite = z.number().refine(Number.isFinite, 'a finite number');
const epochMs = z.number().int().nonnegative();

/** One feature's part in an anomaly: why the detector fired, in the operator's units. */
export const ContributorSchema = z.object({
  feature: z.string().min(1).max(64),
  /** The feature's share of the score: its weighted squared reconstruction error, mean over the window. */
  contribution: finite,
  /** The feature's raw value at the tick the event reports. */
  value: finite,
  /**
   * Normal range from the model's own standardisation: mean ± k·std (k = 3 by default) of the
   * data the model was trained on. Carried by the model file, so the range is the same on every
   * node running that model and needs no history on the node.
   */
  normalLow: finite,
  normalHigh: finite,
});
export type Contributor = z.infer<typeof ContributorSchema>;

/**
 * An anomaly's life: `open` when the debouncer opens it, `update` when its peak score has grown
 * markedly since the last event, `closed` after enough clean ticks. All three carry the same
 * anomalyId and correlationId (heal actions taken for it carry the correlationId too).
 * `score`/`top` are the opening tick's for `open`, and the peak's so far for `update`/`closed`.
 */
export const AnomalyEventSchema = z.object({
  state: z.enum(['open', 'update', 'closed']),
  anomalyId: MessageIdSchema,
  correlationId: MessageIdSchema,
  score: finite,
  threshold: finite,
  modelVersion: z.string().min(1).max(128),
  featureVersion: z.number().int().positive(),
  /** Top contributors, largest first (3 by default; fewer only when the model has fewer features). */
  top: z.array(ContributorSchema).min(1).max(5),
  openedAt: epochMs,
  closedAt: epochMs.optional(),
}).refine((e) => (e.state === 'closed') === (e.closedAt !== undefined), { message: 'closedAt is set exactly when state is closed', path: ['closedAt'] });
export type AnomalyEvent = z.infer<typeof AnomalyEventSchema>;
