import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalJson,
  generateSigningKeys,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  privateKeyToPem,
  publicKeyToText,
  signMessage,
  verifyMessage,
} from '../../../shared/protocol/sign.ts';

const coordinator = generateSigningKeys();
const stranger = generateSigningKeys();
const TOPIC = 'homeostat/v1/fleet/policy/default';

const envelope = () => ({
  v: 1,
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  corr: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  from: 'coordinator',
  ts: 1_720_000_000_000,
  kind: 'policy',
  body: { version: 3, author: 'alice', createdAt: 1_720_000_000_000, policy: { dryRun: false, rules: [{ id: 'r', action: { type: 'notify' } }] } },
});

/** JSON values our schemas can carry: no undefined, no non-finite numbers, no -0 (JSON has none). */
const jsonValue = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** The same value with every object's keys in a different (reversed) insertion order. */
function reorder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorder);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)]));
  return v;
}

/** Paths to every leaf (and every key) of a JSON value, for tampering with one at a time. */
function leafPaths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return v.length ? v.flatMap((x, i) => leafPaths(x, [...at, i])) : [at];
  if (v && typeof v === 'object') {
    const e = Object.entries(v);
    return e.length ? e.flatMap(([k, x]) => leafPaths(x, [...at, k])) : [at];
  }
  return [at];
}

function tamper(msg: unknown, path: Array<string | number>): unknown {
  const copy = structuredClone(msg) as Record<string | number, unknown>;
  if (path.length === 0) return copy;
  let parent = copy;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const cur = parent[last];
  parent[last] = typeof cur === 'number' ? (cur === 0 ? 1 : -cur) : typeof cur === 'string' ? `${cur}x` : typeof cur === 'boolean' ? !cur : cur === null ? 0 : typeof cur === 'object' && Array.isArray(cur) ? [...cur, 1] : { ...(cur as object), extra: 1 };
  return copy;
}

test('a signed message verifies under the signer key and names it', () => {
  const signed = signMessage(envelope(), coordinator.privateKey, TOPIC);
  assert.equal(signed.sig.alg, 'ed25519');
  assert.equal(signed.sig.keyId, keyIdOf(coordinator.publicKey));
  assert.match(signed.sig.keyId, /^[0-9a-f]{16}$/);
  assert.deepEqual(verifyMessage(signed, [stranger.publicKey, coordinator.publicKey], TOPIC), { ok: true, keyId: keyIdOf(coordinator.publicKey) });
  // Through the wire and back: JSON text with the signature, parsed again.
  assert.equal(verifyMessage(JSON.parse(JSON.stringify(signed)), [coordinator.publicKey], TOPIC).ok, true);
});

test('refusals carry their reason: unsigned, unknown_key, bad_signature', () => {
  const signed = signMessage(envelope(), coordinator.privateKey, TOPIC);
  const reason = (m: object, keys = [coordinator.publicKey], topic = TOPIC) => {
    const r = verifyMessage(m, keys, topic);
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(reason(envelope()), 'unsigned');
  assert.equal(reason(signMessage(envelope(), stranger.privateKey, TOPIC)), 'unknown_key', 'signed with another key');
  assert.equal(reason(signed, []), 'unknown_key', 'no trusted key at all');
  // A forger who copies the trusted key id but signs with its own key.
  const forged = { ...signMessage(envelope(), stranger.privateKey, TOPIC), sig: { ...signed.sig, value: signMessage(envelope(), stranger.privateKey, TOPIC).sig.value } };
  assert.equal(reason(forged), 'bad_signature');
  assert.equal(reason({ ...signed, sig: { ...signed.sig, value: 'AAAA' } }), 'bad_signature', 'a signature of the wrong length');
  assert.equal(reason({ ...signed, sig: { ...signed.sig, value: Buffer.alloc(64).toString('base64') } }), 'bad_signature');
  assert.equal(reason(signed, [coordinator.publicKey], 'homeostat/v1/fleet/policy/other-cohort'), 'bad_signature', 'replayed on another topic');
});

test('changing any field of a signed envelope breaks the signature', () => {
  const signed = signMessage(envelope(), coordinator.privateKey, TOPIC);
  const paths = leafPaths(signed).filter((p) => p[0] !== 'sig');
  assert.ok(paths.length >= 10, 'every envelope field and body leaf is exercised');
  for (const p of paths) {
    const r = verifyMessage(tamper(signed, p) as object, [coordinator.publicKey], TOPIC);
    assert.deepEqual(r.ok ? 'ok' : r.reason, 'bad_signature', `tampered ${p.join('.')}`);
  }
  const { body: _, ...noBody } = signed;
  assert.equal(verifyMessage(noBody, [coordinator.publicKey], TOPIC).ok, false, 'a removed field');
});

test('property: any body, any single change → bad_signature; key order never matters', () => {
  fc.assert(
    fc.property(jsonValue, fc.nat(), (body, pick) => {
      const msg = { ...envelope(), body };
      const signed = signMessage(msg, coordinator.privateKey, TOPIC);
      assert.equal(verifyMessage(reorder(JSON.parse(JSON.stringify(signed))) as object, [coordinator.publicKey], TOPIC).ok, true);
      const paths = leafPaths(signed.body).map((p) => ['body', ...p]);
      const tampered = tamper(signed, paths[pick % paths.length]!) as object;
      const r = verifyMessage(tampered, [coordinator.publicKey], TOPIC);
      assert.equal(r.ok ? 'ok' : r.reason, 'bad_signature');
    }),
    { numRuns: 200 },
  );
});

test('canonicalJson: sorted keys, no whitespace, independent of insertion order, parses back to the value', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x', { d: 1.5, c: -2 }], e: undefined }), '{"a":[true,null,"x",{"c":-2,"d":1.5}],"b":1}');
  assert.equal(canonicalJson({ é: 1, z: 2, Z: 3, '10': 4, '9': 5 }), '{"10":4,"9":5,"Z":3,"z":2,"é":1}');
  assert.throws(() => canonicalJson({ n: Number.NaN }), /non-finite/);
  fc.assert(
    fc.property(jsonValue, (v) => {
      const c = canonicalJson(v);
      assert.equal(canonicalJson(reorder(v)), c);
      assert.deepEqual(JSON.parse(c), v);
      assert.doesNotMatch(c.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/, 'no whitespace outside strings');
    }),
  );
});

test('public keys parse from the printed line, PEM and raw base64; other keys and garbage are refused with the fix', () => {
  const want = keyIdOf(coordinator.publicKey);
  const line = publicKeyToText(coordinator.publicKey);
  assert.equal(line.length, 60);
  assert.equal(keyIdOf(parsePublicKey(line)), want);
  assert.equal(keyIdOf(parsePublicKey(`  ${line}\n`)), want);
  assert.equal(keyIdOf(parsePublicKey(coordinator.publicKey.export({ format: 'pem', type: 'spki' }).toString())), want);
  assert.equal(keyIdOf(parsePublicKey(coordinator.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64'))), want);
  assert.throws(() => parsePublicKey('not a key!'), /not an ed25519 public key.*homeostat coordinator key/);
  assert.throws(() => parsePublicKey('AAAA'), /not an ed25519 public key/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  assert.throws(() => parsePublicKey(rsa), /rsa public key, not ed25519/);
  const reloaded = parsePrivateKey(privateKeyToPem(coordinator.privateKey), 'fleet-key.pem');
  assert.equal(verifyMessage(signMessage(envelope(), reloaded, TOPIC), [coordinator.publicKey], TOPIC).ok, true, 'a private key survives PEM');
  assert.throws(() => parsePrivateKey('garbage', 'fleet-key.pem'), /fleet-key.pem: not a PEM private key/);
  assert.throws(() => signMessage(envelope(), coordinator.publicKey, TOPIC), /ed25519 private key/);
});

test('the signature is over the bytes docs/protocol.md documents (an independent verifier can rebuild them)', () => {
  const msg = { v: 1, id: 'i', corr: 'c', from: 'coordinator', ts: 5, kind: 'cmd', body: { command: 'ping', n: [1.5, -0, 'é'] } };
  const signed = signMessage(msg, coordinator.privateKey, 'homeostat/v1/agents/a1/cmd');
  // Written out by hand: keys sorted, no whitespace, -0 written as 0 the way JSON.stringify does.
  const bytes = Buffer.from('homeostat-sig-v1\nhomeostat/v1/agents/a1/cmd\n{"body":{"command":"ping","n":[1.5,0,"é"]},"corr":"c","from":"coordinator","id":"i","kind":"cmd","ts":5,"v":1}', 'utf8');
  assert.equal(verify(null, bytes, coordinator.publicKey, Buffer.from(signed.sig.value, 'base64')), true);
  const spkiHash = createHash('sha256').update(coordinator.publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
  assert.equal(signed.sig.keyId, spkiHash.slice(0, 16));
});
