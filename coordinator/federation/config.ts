import { z } from 'zod';
import { QUANTIZATIONS } from '../../shared/federation/update-codec.ts';
import { LocalTrainingSchema } from '../../shared/protocol/messages.ts';

export const STRATEGY_NAMES = ['fedavg', 'median', 'trimmed-mean', 'clipped-fedavg'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * Federated rounds at the coordinator (`federation:` in its config). Rounds run on demand
 * (`homeostat coordinator round start`) and, when `everyMin` is set, on a schedule.
 */
export const FederationConfigSchema = z
  .strictObject({
    /** Start a round this many minutes after the previous one closed; absent = on demand only. */
    everyMin: z.number().positive().max(60 * 24 * 20, 'at most 20 days (28,800 minutes): longer does not fit a timer').optional(),
    /** The aggregation: fedavg (weighted by samples), median, trimmed-mean, or fedavg after clipping every update to clipNorm. */
    strategy: z.enum(STRATEGY_NAMES).default('fedavg'),
    /** trimmed-mean drops ⌊trimBeta·n⌋ updates at each end per coordinate; it resists up to that many bad agents. */
    trimBeta: z.number().min(0).lt(0.5).default(0.3),
    /** Share of online agents sampled into a round (at least minParticipants of them). */
    sampleFraction: z.number().gt(0).max(1).default(1),
    /** Fewer usable updates than this by the deadline and the round closes without a new model. */
    minParticipants: z.number().int().min(1).max(1000).default(2),
    /** At most this many agents per round (the round message lists them). */
    maxParticipants: z.number().int().min(1).max(1000).default(200),
    /** How long participants have to train and send; a straggler after it is refused as late. */
    deadlineSec: z.number().min(1).max(7 * 24 * 3600).default(900),
    training: LocalTrainingSchema.default({ epochs: 1, learningRate: 1e-3, windowsPerEpoch: 4000, maxSamples: 86_400 }),
    /**
     * L2 bound each participant clips its delta to, and the bound clipped-fedavg enforces at the
     * coordinator (null: no clipping). The base model's 3-epoch fine-tuning delta has norm 0.89
     * (docs/federation.md), so 2 rarely touches an honest update.
     */
    clipNorm: z.number().positive().nullable().default(2),
    /** Client-side Gaussian noise, std noiseMultiplier·clipNorm per coordinate; 0 = none (docs/federation.md: what it does and does not give). */
    noiseMultiplier: z.number().min(0).max(100).default(0),
    quantization: z.enum(QUANTIZATIONS).default('f16'),
    /** The model the fleet starts from (version 0); default the shipped base model. */
    baseModelPath: z.string().min(1).optional(),
  })
  .refine((f) => f.noiseMultiplier === 0 || f.clipNorm !== null, { message: 'noiseMultiplier needs clipNorm: the noise is sized by it', path: ['noiseMultiplier'] })
  .refine((f) => f.strategy !== 'clipped-fedavg' || f.clipNorm !== null, { message: 'clipped-fedavg needs clipNorm', path: ['strategy'] })
  .refine((f) => f.minParticipants <= f.maxParticipants, { message: 'minParticipants is larger than maxParticipants', path: ['minParticipants'] });
export type FederationConfig = z.infer<typeof FederationConfigSchema>;
