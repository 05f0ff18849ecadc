import { readFile, stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { CONTRIB_OUTPUT, INPUT_NAME, SCORE_OUTPUT } from '../../models/onnx/builder.ts';
import type { StoredMeta } from '../../models/onnx/metadata.ts';
import { autoencoderFrom, NotAutoencoderError, ProtoDecodeError, readOnnx, type OnnxModelInfo } from '../../models/onnx/reader.ts';

/**
 * One thread each: the agent shares the node with the services it guards. A window scores in
 * microseconds (bench/scoring.ts), so parallelism would buy nothing but contention.
 */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // ORT's own warnings (e.g. unused initializers) go to stderr outside our logger: errors only.
  logSeverityLevel: 3,
};

/** A model file larger than this is refused unread: Homeostat models are kilobytes to a few MiB. */
export const MAX_MODEL_BYTES = 64 * 2 ** 20;

export const REFUSAL_REASONS = ['unreadable', 'corrupt', 'incompatible', 'failed'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const ADVICE: Record<RefusalReason, string> = {
  unreadable: 'Check the path and its permissions, or remove the model setting to run the shipped base model.',
  corrupt: 'Replace it with a model built by homeostat (npm run model:train) or published by the coordinator.',
  incompatible: "Use a model trained on this agent's feature vector.",
  failed: 'It loads but does not score; rebuild it from its training data.',
};

/** Why a model was not put in service, with the file (or source label) and what to do. */
export class ModelRefusedError extends Error {
  constructor(
    readonly source: string,
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {
    super(`model ${source} refused (${reason}): ${detail}. ${ADVICE[reason]}`);
  }
}

/** What the agent feeds a model: the model must take exactly these features, in this order. */
export interface ModelExpectation {
  featureNames: readonly string[];
  featureVersion: number;
}

export interface LoadedModel {
  source: string;
  meta: StoredMeta;
  /** The weights as read back from the file; the detector takes normal ranges from mean/std. */
  model: AutoencoderModel;
  session: ort.InferenceSession;
}

export interface Scores {
  score: Float32Array;
  contrib: Float32Array;
}

export async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ModelRefusedError(path, 'unreadable', 'not a regular file');
    if (st.size > MAX_MODEL_BYTES) throw new ModelRefusedError(path, 'unreadable', `${st.size} bytes, over the ${MAX_MODEL_BYTES}-byte limit`);
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if (e instanceof ModelRefusedError) throw e;
    throw new ModelRefusedError(path, 'unreadable', (e as Error).message);
  }
}

function checkGraph(info: OnnxModelInfo, meta: StoredMeta): string | null {
  const x = info.inputs.find((v) => v.name === INPUT_NAME);
  if (!x) return `no graph input "${INPUT_NAME}"`;
  const [, w, f] = x.dims;
  if (x.dims.length !== 3 || w !== meta.window || f !== meta.features) {
    return `graph input ${INPUT_NAME} has shape [${x.dims.join(', ')}] but its metadata says window ${meta.window}, features ${meta.features}`;
  }
  for (const out of [SCORE_OUTPUT, CONTRIB_OUTPUT]) if (!info.outputs.some((v) => v.name === out)) return `no graph output "${out}"`;
  return null;
}

function checkExpectation(meta: StoredMeta, expect: ModelExpectation): string | null {
  const want = expect.featureNames;
  if (meta.features !== want.length) {
    return `input width ${meta.window}×${meta.features} = ${meta.window * meta.features} does not fit this agent's ${want.length} features (it would need ${meta.window}×${want.length} = ${meta.window * want.length})`;
  }
  const i = meta.featureNames.findIndex((n, j) => n !== want[j]);
  if (i >= 0) return `feature ${i} is "${meta.featureNames[i]}" in the model but "${want[i]}" in this agent (feature version ${expect.featureVersion})`;
  if (meta.featureVersion !== undefined && meta.featureVersion !== expect.featureVersion) {
    return `model trained on feature version ${meta.featureVersion}, this agent samples version ${expect.featureVersion}`;
  }
  return null;
}

/** Static checks, no runtime: bytes → parsed model, or ModelRefusedError (corrupt / incompatible). */
export function checkModelBytes(bytes: Uint8Array, source: string, expect: ModelExpectation): { meta: StoredMeta; model: AutoencoderModel } {
  let info: OnnxModelInfo;
  try {
    info = readOnnx(bytes);
  } catch (e) {
    if (e instanceof ProtoDecodeError) throw new ModelRefusedError(source, 'corrupt', `not an ONNX model, or truncated (${e.message})`);
    throw e;
  }
  let parsed: ReturnType<typeof autoencoderFrom>;
  try {
    parsed = autoencoderFrom(info);
  } catch (e) {
    if (e instanceof NotAutoencoderError) {
      // A file cut at a field boundary parses but lacks its tail (metadata comes last): say so.
      throw new ModelRefusedError(source, 'incompatible', `not a Homeostat autoencoder, or truncated (${e.message})`);
    }
    throw e;
  }
  const problem = checkGraph(info, parsed.meta) ?? checkExpectation(parsed.meta, expect);
  if (problem) throw new ModelRefusedError(source, 'incompatible', problem);
  return parsed;
}

/** Scores `n` windows (x is [n, W, F] row-major raw features) with one session run. */
export async function runModel(session: ort.InferenceSession, m: Pick<AutoencoderModel, 'window' | 'features'>, x: Float32Array, n: number): Promise<Scores> {
  const input = new ort.Tensor('float32', x, [n, m.window, m.features]);
  const out = await session.run({ [INPUT_NAME]: input });
  const score = out[SCORE_OUTPUT];
  const contrib = out[CONTRIB_OUTPUT];
  if (!score || !contrib || score.type !== 'float32' || contrib.type !== 'float32') throw new Error('session returned no float32 score/contrib outputs');
  if (score.data.length !== n || contrib.data.length !== n * m.features) {
    throw new Error(`session returned score of ${score.data.length} and contrib of ${contrib.data.length} values for ${n} windows`);
  }
  return { score: score.data as Float32Array, contrib: contrib.data as Float32Array };
}

/** Two windows (at the training mean, and one std above) whose scores must come out finite. */
function testWindows(m: AutoencoderModel): Float32Array {
  const { window: W, features: F } = m;
  const x = new Float32Array(2 * W * F);
  for (let j = 0; j < W * F; j++) {
    const f = j % F;
    x[j] = m.mean[f]!;
    x[W * F + j] = m.mean[f]! + m.std[f]!;
  }
  return x;
}

/**
 * Everything short of putting a model in service: read (for a path), parse, check against what
 * the agent samples, load an ORT session and score test windows. Throws ModelRefusedError.
 */
export async function openModel(src: string | { bytes: Uint8Array; label: string }, expect: ModelExpectation): Promise<LoadedModel> {
  const source = typeof src === 'string' ? src : src.label;
  const bytes = typeof src === 'string' ? await readModelFile(src) : src.bytes;
  const { meta, model } = checkModelBytes(bytes, source, expect);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (e) {
    throw new ModelRefusedError(source, 'corrupt', `onnxruntime could not load it (${(e as Error).message})`);
  }
  try {
    const r = await runModel(session, model, testWindows(model), 2);
    const bad = [...r.score, ...r.contrib].find((v) => !Number.isFinite(v));
    if (bad !== undefined) throw new Error(`a test window scored ${bad}`);
  } catch (e) {
    await session.release();
    throw new ModelRefusedError(source, 'failed', `test inference failed (${(e as Error).message})`);
  }
  return { source, meta, model, session };
}
