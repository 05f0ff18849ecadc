import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fleetPublicKey, loadAgentConfig } from '../../agent/config.ts';
import { generateSigningKeys, keyIdOf, publicKeyToText } from '../../shared/protocol/sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-fleet-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const { publicKey } = generateSigningKeys();

test('fleet.publicKey inline or from a file gives the trusted key; none gives null', () => {
  assert.equal(fleetPublicKey(loadAgentConfig(undefined, {}).fleet), null);
  const inline = fleetPublicKey(loadAgentConfig(undefined, { fleet: { publicKey: publicKeyToText(publicKey) } }).fleet);
  assert.equal(keyIdOf(inline!), keyIdOf(publicKey));
  const file = join(dir, 'fleet-key.pub');
  writeFileSync(file, publicKey.export({ format: 'pem', type: 'spki' }));
  assert.equal(keyIdOf(fleetPublicKey(loadAgentConfig(undefined, { fleet: { publicKeyFile: file } }).fleet)!), keyIdOf(publicKey));
});

test('a wrong key is a config error naming the field; an unreadable key file names the file', () => {
  assert.throws(() => loadAgentConfig(undefined, { fleet: { publicKey: 'hello' } }), /fleet\.publicKey: not an ed25519 public key .*homeostat coordinator key/);
  assert.throws(() => loadAgentConfig(undefined, { fleet: { publicKey: publicKeyToText(publicKey), publicKeyFile: '/x' } }), /fleet\.publicKeyFile: set publicKey or publicKeyFile, not both/);
  assert.throws(() => loadAgentConfig(undefined, { fleet: { nope: 1 } }), /fleet: unknown key\(s\) "nope"/);
  const missing = join(dir, 'missing.pub');
  assert.throws(() => fleetPublicKey(loadAgentConfig(undefined, { fleet: { publicKeyFile: missing } }).fleet), new RegExp(`public key file ${missing}: cannot read it \\(ENOENT\\): check the path`));
  const junk = join(dir, 'junk.pub');
  writeFileSync(junk, 'junk');
  assert.throws(() => fleetPublicKey(loadAgentConfig(undefined, { fleet: { publicKeyFile: junk } }).fleet), /public key file .*junk\.pub: not an ed25519 public key/);
});
