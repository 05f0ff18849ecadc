import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import { ModelBodySchema, type ModelBody } from '../../shared/protocol/messages.ts';
import { checkModelBytes, ModelRefusedError, type ModelExpectation } from '../detect/model-file.ts';
import { writeFileAtomic } from '../../shared/store/atomic-file.ts';

/** A global model this node holds: the fleet's weights with the coordinator's (base) normalisation. */
export interface FleetModel {
  version: number;
  roundId: string | null;
  sha256: string;
  onnx: Uint8Array;
  model: AutoencoderModel;
}

export type OfferResult =
  | { status: 'new'; model: FleetModel }
  /** The version already held: a retained redelivery on reconnect. */
  | { status: 'same' }
  | { status: 'refused'; reason: 'stale' | 'checksum' | 'incompatible'; detail: string };

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * The newest global model this node received, kept whether or not it went into service: a round
 * fine-tunes from the version it announces, and a later version must be newer (no rollback, even
 * across restarts: the version is saved beside the file).
 */
export class FleetModelKeeper {
  private current: FleetModel | null = null;

  constructor(
    private readonly o: {
      expect: ModelExpectation;
      /** Where the held model is saved; none keeps it in memory only. */
      dir?: string;
      onLoadError?: (why: string) => void;
    },
  ) {}

  /** Loads the saved model, if any; a damaged one is reported and ignored (the coordinator's retained copy replaces it). */
  load(): void {
    const file = this.file();
    if (!file || !existsSync(file)) return;
    try {
      const r = this.offer(ModelBodySchema.parse(JSON.parse(readFileSync(file, 'utf8'))), false);
      if (r.status === 'refused') throw new Error(r.detail);
    } catch (e) {
      this.o.onLoadError?.(`${file}: ${(e as Error).message}`);
    }
  }

  held(): FleetModel | null {
    return this.current;
  }

  /** The held model if it is exactly this version and file. */
  get(version: number, sha256: string): FleetModel | null {
    const c = this.current;
    return c && c.version === version && c.sha256 === sha256 ? c : null;
  }

  /** Checks a (signature-verified) model message and holds it (and saves it) when it is newer than the one held. */
  offer(body: ModelBody, save = true): OfferResult {
    const cur = this.current;
    if (cur && body.version === cur.version && body.sha256 === cur.sha256) return { status: 'same' };
    if (cur && body.version <= cur.version) {
      return { status: 'refused', reason: 'stale', detail: `version ${body.version} is not newer than the version held, ${cur.version} (no rollback)` };
    }
    const onnx = new Uint8Array(Buffer.from(body.onnx, 'base64'));
    const sha = sha256Hex(onnx);
    if (sha !== body.sha256) return { status: 'refused', reason: 'checksum', detail: `the file's SHA-256 is ${sha}, the message says ${body.sha256}` };
    let model: AutoencoderModel;
    try {
      model = checkModelBytes(onnx, `global model v${body.version}`, this.o.expect).model;
    } catch (e) {
      if (e instanceof ModelRefusedError) return { status: 'refused', reason: 'incompatible', detail: e.message };
      throw e;
    }
    this.current = { version: body.version, roundId: body.roundId, sha256: sha, onnx, model };
    if (save) this.save(body);
    return { status: 'new', model: this.current };
  }

  private file(): string | null {
    return this.o.dir ? join(this.o.dir, 'global-model.json') : null;
  }

  /** The message as received, in one file renamed into place: a crash leaves the old one or the new one whole. */
  private save(body: ModelBody): void {
    const file = this.file();
    if (!file) return;
    writeFileAtomic(file, JSON.stringify(body));
  }
}
