import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { SignatureSchema } from './envelope.ts';

export type Signature = z.infer<typeof SignatureSchema>;

/** Why a message on a signed topic was refused; these are also its `reason` label in the rejection counter. */
export const VERIFY_REASONS = ['unsigned', 'unknown_key', 'bad_signature'] as const;
export type VerifyReason = (typeof VERIFY_REASONS)[number];
export type VerifyResult = { ok: true; keyId: string } | { ok: false; reason: VerifyReason; detail: string };

/** A public or private key, or its text; the problem says which input and what format is expected. */
export class KeyFormatError extends Error {
  readonly expected = true;
}

/**
 * Deterministic JSON: object keys sorted by UTF-16 code unit, no whitespace, numbers and strings
 * as JSON.stringify writes them, keys whose value is undefined left out. For the values our
 * schemas allow (finite numbers, strings, booleans, null, arrays, plain objects) this is the JSON
 * Canonicalization Scheme of RFC 8785, so a verifier in another language can rebuild the bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot canonicalise ${value}: JSON has no non-finite numbers`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot canonicalise a ${typeof value}`);
}

/**
 * Domain tag at the front of every signed byte string, so a signature made here can never be
 * mistaken for one over some other structure signed with the same key.
 */
const DOMAIN = 'homeostat-sig-v1';

/**
 * The bytes a signature covers: the domain tag, the MQTT topic, and the canonical envelope without
 * `sig`. The topic is included because the envelope alone does not say where it may be delivered:
 * without it a `cmd` signed for one agent could be replayed to another's cmd topic, and a policy
 * signed for one cohort republished on another cohort's topic.
 */
export function signingBytes(msg: object, topic: string): Buffer {
  const { sig: _, ...rest } = msg as Record<string, unknown>;
  return Buffer.from(`${DOMAIN}\n${topic}\n${canonicalJson(rest)}`, 'utf8');
}

/** Key ids by key object (public, or the private key a signer holds): every signed message needs one, and keys live for the process. */
const keyIds = new WeakMap<KeyObject, string>();

/** Short id of a public key: the first 16 hex digits of SHA-256 over its SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  let id = keyIds.get(publicKey);
  if (id === undefined) {
    id = createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
    keyIds.set(publicKey, id);
  }
  return id;
}

/** The key id a private key signs under (its public key's id). */
function signerKeyId(privateKey: KeyObject): string {
  let id = keyIds.get(privateKey);
  if (id === undefined) {
    id = keyIdOf(createPublicKey(privateKey));
    keyIds.set(privateKey, id);
  }
  return id;
}

/**
 * Returns `msg` with an ed25519 `sig` over `signingBytes(msg, topic)`; any `sig` it had is replaced.
 * Sign what the receiver will validate: the envelope as the schema outputs it (codec `encode`
 * does this), because a default the schema fills in changes the canonical bytes.
 */
export function signMessage<M extends object>(msg: M, privateKey: KeyObject, topic: string): Omit<M, 'sig'> & { sig: Signature } {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new KeyFormatError('signMessage needs an ed25519 private key');
  const value = sign(null, signingBytes(msg, topic), privateKey).toString('base64');
  const { sig: _, ...rest } = msg as M & { sig?: unknown };
  return { ...rest, sig: { alg: 'ed25519', keyId: signerKeyId(privateKey), value } } as Omit<M, 'sig'> & { sig: Signature };
}

/**
 * Checks `msg.sig` against the trusted public keys: `unsigned` when there is no signature,
 * `unknown_key` when its key id is none of them (another coordinator's key, or a forger's own),
 * `bad_signature` when the bytes do not verify under the key it names (a forgery or any change).
 */
export function verifyMessage(msg: object, publicKeys: Iterable<KeyObject>, topic: string): VerifyResult {
  const sig = (msg as { sig?: Signature }).sig;
  if (!sig) return { ok: false, reason: 'unsigned', detail: 'the message carries no signature and this topic must be signed' };
  let key: KeyObject | undefined;
  const known: string[] = [];
  for (const k of publicKeys) {
    const id = keyIdOf(k);
    known.push(id);
    if (id === sig.keyId) key = k;
  }
  if (!key) return { ok: false, reason: 'unknown_key', detail: `signed with key ${sig.keyId}, trusted: ${known.join(', ') || 'none'}` };
  const value = Buffer.from(sig.value, 'base64');
  // Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6); anything else cannot verify.
  if (value.byteLength !== 64 || !verify(null, signingBytes(msg, topic), key, value)) {
    return { ok: false, reason: 'bad_signature', detail: `signature does not verify under key ${sig.keyId}: forged or altered` };
  }
  return { ok: true, keyId: sig.keyId };
}

export function generateSigningKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/** The one-line text form agents are configured with: base64 of the SPKI DER encoding (60 characters). */
export function publicKeyToText(publicKey: KeyObject): string {
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Reads an ed25519 public key from text: PEM (`-----BEGIN PUBLIC KEY-----`), base64 of the SPKI
 * DER encoding (what `homeostat coordinator key` prints), or base64 of the raw 32-byte key.
 */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  let key: KeyObject;
  try {
    if (t.startsWith('-----BEGIN')) key = createPublicKey(t);
    else {
      if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) throw new Error('not base64');
      const der = Buffer.from(t, 'base64');
      key = createPublicKey({ key: der.byteLength === 32 ? Buffer.concat([ED25519_SPKI_PREFIX, der]) : der, format: 'der', type: 'spki' });
    }
  } catch (e) {
    throw new KeyFormatError(`not an ed25519 public key (${(e as Error).message}): use the line "homeostat coordinator key" prints, or a PEM public key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new KeyFormatError(`a ${key.asymmetricKeyType} public key, not ed25519: use the line "homeostat coordinator key" prints`);
  return key;
}

/** A public key from a file (PEM or the one-line base64 form); errors name the file. */
export function readPublicKeyFile(path: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KeyFormatError(`public key file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path`);
  }
  try {
    return parsePublicKey(text);
  } catch (e) {
    throw new KeyFormatError(`public key file ${path}: ${(e as Error).message}`);
  }
}

/** An ed25519 private key from PKCS#8 PEM text; `where` names the source in the error. */
export function parsePrivateKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new KeyFormatError(`${where}: not a PEM private key (${(e as Error).message}): restore it from a backup, or move it away to create a new key pair (agents then need the new public key)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new KeyFormatError(`${where}: a ${key.asymmetricKeyType} key, not ed25519`);
  return key;
}

export function privateKeyToPem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
