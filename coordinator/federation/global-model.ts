import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { applyDelta } from '../../models/autoencoder/weights.ts';
import { buildOnnx } from '../../models/onnx/builder.ts';
import type { StoredMeta } from '../../models/onnx/metadata.ts';
import { readAutoencoder } from '../../models/onnx/reader.ts';
import type { NamedTensor } from '../../shared/federation/tensor.ts';
import { globalModelLabel } from '../../shared/protocol/messages.ts';
import type { RoundStore, StoredModel } from './round-store.ts';

/** The shipped base model: beside the bundle in dist/, or in models/base/ when run from source. */
function shippedBaseModelPath(): string {
  const besideBundle = join(dirname(fileURLToPath(import.meta.url)), 'homeostat-base-v1.onnx');
  return existsSync(besideBundle) ? besideBundle : fileURLToPath(new URL('../../models/base/homeostat-base-v1.onnx', import.meta.url));
}

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface CurrentModel extends StoredModel {
  model: AutoencoderModel;
  meta: StoredMeta;
}

/**
 * The fleet's model lineage at the coordinator: version 0 is the base model (stored on first
 * start), each published round adds version + 1 = current weights + the aggregated delta. The
 * file keeps the base model's mean/std/errScale; agents replace them with their own.
 */
export class GlobalModel {
  private cur: CurrentModel | null = null;

  constructor(
    private readonly store: RoundStore,
    private readonly baseModelPath: string | undefined,
    private readonly now: () => number,
  ) {}

  /** Loads the latest stored version, or stores the base model as version 0. Throws when the base cannot be read. */
  init(): CurrentModel {
    let stored = this.store.latestModel();
    if (!stored) {
      const path = this.baseModelPath ?? shippedBaseModelPath();
      let onnx: Uint8Array;
      try {
        onnx = new Uint8Array(readFileSync(path));
      } catch (e) {
        throw new Error(`federation: cannot read the base model ${path} (${(e as Error).message}): fix federation.baseModelPath`);
      }
      stored = { version: 0, roundId: null, sha256: sha256Hex(onnx), createdAt: this.now(), onnx };
      this.parse(stored, path);
      this.store.addModel(stored);
    }
    this.cur = this.parse(stored, `stored global model v${stored.version}`);
    return this.cur;
  }

  current(): CurrentModel {
    if (!this.cur) throw new Error('GlobalModel.current() before init()');
    return this.cur;
  }

  /** The next version from an aggregated delta (not stored: the round closes and stores it in one transaction). */
  next(delta: readonly NamedTensor[], round: { roundId: string; strategy: string; used: string[] }): CurrentModel {
    const cur = this.current();
    const model = applyDelta(cur.model, delta);
    const version = cur.version + 1;
    const createdAt = this.now();
    const onnx = buildOnnx(model, {
      version: globalModelLabel(version),
      ...(cur.meta.featureVersion !== undefined ? { featureVersion: cur.meta.featureVersion } : {}),
      createdAt: new Date(createdAt).toISOString(),
      training: { from: cur.version, round: round.roundId, strategy: round.strategy, participants: round.used.length },
      description: `fleet model v${version}: v${cur.version} + the ${round.strategy} of ${round.used.length} participants' updates in round ${round.roundId}`,
    });
    return { version, roundId: round.roundId, sha256: sha256Hex(onnx), createdAt, onnx, model, meta: { ...cur.meta, version: globalModelLabel(version) } };
  }

  /** Makes a stored version current (after its round closed). */
  advance(m: CurrentModel): void {
    this.cur = m;
  }

  private parse(m: StoredModel, source: string): CurrentModel {
    try {
      return { ...m, ...readAutoencoder(m.onnx) };
    } catch (e) {
      throw new Error(`federation: ${source} is not a Homeostat autoencoder (${(e as Error).message})`);
    }
  }
}
