import { z } from 'zod';

/**
 * What a Homeostat model file says about itself, stored as ONNX `metadata_props` (string
 * key/value pairs) under the `homeostat.` prefix. The detector reads them back to check a
 * model against what the agent samples before it ever scores with it.
 */
export const META_KEYS = {
  version: 'homeostat.version',
  window: 'homeostat.window',
  features: 'homeostat.features',
  featureNames: 'homeostat.feature_names',
  featureVersion: 'homeostat.feature_version',
  createdAt: 'homeostat.created_at',
  training: 'homeostat.training',
} as const;

/** What the caller of buildOnnx says about the model (shape facts come from the model itself). */
export const ModelMetaSchema = z.strictObject({
  /** Model version, e.g. `base-v1` or `global-r12`: reported in status and in every anomaly event. */
  version: z.string().min(1).max(128),
  /** ModelProto.producer_name. */
  producer: z.string().min(1).max(64).default('homeostat'),
  /** Version of the feature vector the model was trained on (agent/sense/features.ts FEATURE_VERSION). */
  featureVersion: z.number().int().positive().optional(),
  /**
   * ISO-8601 time. Optional and never taken from the clock here: a model must be reproducible
   * bit-for-bit from its seed and data, so the caller decides (e.g. from SOURCE_DATE_EPOCH).
   */
  createdAt: z.iso.datetime().optional(),
  /** Free-form training facts (seed, epochs, loss, data file hash...), stored as JSON. */
  training: z.record(z.string(), z.unknown()).optional(),
  /** ModelProto.doc_string. */
  description: z.string().max(4000).optional(),
});
export type ModelMetaInput = z.input<typeof ModelMetaSchema>;
export type ModelMeta = z.infer<typeof ModelMetaSchema>;

const jsonString = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
      return z.NEVER;
    }
  }).pipe(schema);

const positiveIntString = z.string().regex(/^[1-9][0-9]{0,8}$/, 'a positive integer').transform(Number);

/** The metadata as read back from a file: every shape fact is required, the rest optional. */
export const StoredMetaSchema = z
  .object({
    [META_KEYS.version]: z.string().min(1).max(128),
    [META_KEYS.window]: positiveIntString,
    [META_KEYS.features]: positiveIntString,
    [META_KEYS.featureNames]: jsonString(z.array(z.string().min(1).max(64))),
    [META_KEYS.featureVersion]: positiveIntString.optional(),
    [META_KEYS.createdAt]: z.string().optional(),
    [META_KEYS.training]: jsonString(z.record(z.string(), z.unknown())).optional(),
  })
  .transform((m) => ({
    version: m[META_KEYS.version],
    window: m[META_KEYS.window],
    features: m[META_KEYS.features],
    featureNames: m[META_KEYS.featureNames],
    featureVersion: m[META_KEYS.featureVersion],
    createdAt: m[META_KEYS.createdAt],
    training: m[META_KEYS.training],
  }))
  .refine((m) => m.featureNames.length === m.features, { message: `${META_KEYS.featureNames} must list exactly ${META_KEYS.features} names` });
export type StoredMeta = z.infer<typeof StoredMetaSchema>;

/** Key/value pairs in a fixed order, so the same model and meta always give the same bytes. */
export function toMetadataProps(shape: { window: number; features: number; featureNames: readonly string[] }, meta: ModelMeta): Array<[string, string]> {
  const props: Array<[string, string]> = [
    [META_KEYS.version, meta.version],
    [META_KEYS.window, String(shape.window)],
    [META_KEYS.features, String(shape.features)],
    [META_KEYS.featureNames, JSON.stringify(shape.featureNames)],
  ];
  if (meta.featureVersion !== undefined) props.push([META_KEYS.featureVersion, String(meta.featureVersion)]);
  if (meta.createdAt !== undefined) props.push([META_KEYS.createdAt, meta.createdAt]);
  if (meta.training !== undefined) props.push([META_KEYS.training, JSON.stringify(meta.training)]);
  return props;
}
