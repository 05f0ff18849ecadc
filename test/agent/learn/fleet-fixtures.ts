import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_BASE_MODEL_PATH } from '../../../agent/detect/detector.ts';
import { gaussian, mulberry32 } from '../../../agent/learn/rng.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from '../../../agent/sense/features.ts';
import type { AutoencoderModel } from '../../../models/autoencoder/spec.ts';
import { buildOnnx } from '../../../models/onnx/builder.ts';
import { readAutoencoder } from '../../../models/onnx/reader.ts';
import type { ModelBody } from '../../../shared/protocol/messages.ts';

export const BASE_ONNX = new Uint8Array(readFileSync(DEFAULT_BASE_MODEL_PATH));
export const BASE = readAutoencoder(BASE_ONNX).model;
export const EXPECT = { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION };
export const F = FEATURE_NAMES.length;

/** A model message as the coordinator would send it (signature checked elsewhere, by the router). */
export function modelBody(version: number, model: AutoencoderModel = BASE, roundId: string | null = version === 0 ? null : `r${version}-a`): ModelBody {
  const onnx = version === 0 && model === BASE ? BASE_ONNX : buildOnnx(model, { version: `global-v${version}`, featureVersion: FEATURE_VERSION });
  return { version, roundId, sha256: createHash('sha256').update(onnx).digest('hex'), createdAt: 1, onnx: Buffer.from(onnx).toString('base64') };
}

/** n rows of a smooth synthetic host, row-major; `shiftFrom` adds +`shift` to feature 0 from that row on. */
export function rows(n: number, seed = 1, o: { shiftFrom?: number; shift?: number } = {}): Float32Array {
  const g = gaussian(mulberry32(seed));
  const out = new Float32Array(n * F);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) out[i * F + f] = 10 + 3 * f + Math.sin(i / (20 + f)) + 0.2 * g() + (f === 0 && o.shiftFrom !== undefined && i >= o.shiftFrom ? (o.shift ?? 0) : 0);
  }
  return out;
}
