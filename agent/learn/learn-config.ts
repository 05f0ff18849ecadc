import { z } from 'zod';

/** Federated learning on the agent (`learn:` in its config): taking part in rounds, and trusting the fleet's models. */
export const LearnConfigSchema = z.strictObject({
  /** Train and send an update when a round samples this agent. */
  participate: z.boolean().default(true),
  /** Fewer normal samples than this and the agent sits the round out (the coordinator records a failure). 1,800 = 30 min at 1 Hz. */
  minSamples: z.number().int().min(100).default(1800),
  /** Share of one core round training and the acceptance test may use, averaged; they yield every 10 ms whatever this says. */
  cpuShare: z.number().gt(0).max(1).default(0.5),
  accept: z
    .strictObject({
      /** Consider new global models for service (they are always kept to train from). */
      enabled: z.boolean().default(true),
      /** The candidate's false-positive rate on this node's held-out normal data may exceed the current model's by at most this. */
      maxFprIncrease: z.number().min(0).max(1).default(0.02),
      /** Normal samples needed to run the acceptance test; with fewer the model is not put in service. */
      minSamples: z.number().int().min(200).default(1800),
      /** The most recent normal samples the test uses (86,400 = one day at 1 Hz). */
      maxSamples: z.number().int().min(200).max(2_000_000).default(86_400),
    })
    .prefault({}),
});
export type LearnConfig = z.infer<typeof LearnConfigSchema>;
