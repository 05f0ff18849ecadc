import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KeyPermissionError, loadOrCreateFleetKeys } from '../../coordinator/keys.ts';
import { keyIdOf, parsePublicKey, signMessage, verifyMessage } from '../../shared/protocol/sign.ts';

const root = mkdtempSync(join(tmpdir(), 'homeostat-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the key pair is created once, private 0600, and read back the same on every later start', () => {
  const dir = join(root, 'a');
  const k = loadOrCreateFleetKeys(dir);
  assert.equal(k.created, true);
  assert.equal(statSync(k.privateFile).mode & 0o777, 0o600);
  assert.equal(readFileSync(k.publicFile, 'utf8').trim(), k.publicKeyText);
  const again = loadOrCreateFleetKeys(dir);
  assert.equal(again.created, false);
  assert.equal(again.keyId, k.keyId);
  assert.equal(keyIdOf(parsePublicKey(again.publicKeyText)), k.keyId);
  const msg = signMessage({ v: 1, body: {} }, again.privateKey, 't');
  assert.equal(verifyMessage(msg, [k.publicKey], 't').ok, true, 'the reloaded private key signs for the same public key');
});

test('a private key readable by group or others is refused with the chmod to run', () => {
  if (process.platform === 'win32') return; // No POSIX modes: the check is skipped there (keys.ts says why).
  const dir = join(root, 'b');
  const k = loadOrCreateFleetKeys(dir);
  for (const mode of [0o640, 0o604, 0o644]) {
    chmodSync(k.privateFile, mode);
    assert.throws(
      () => loadOrCreateFleetKeys(dir),
      (e: Error) => e instanceof KeyPermissionError && e.message.includes(`run "chmod 600 ${k.privateFile}"`) && !e.message.includes('\n'),
    );
  }
  chmodSync(k.privateFile, 0o400);
  assert.equal(loadOrCreateFleetKeys(dir).keyId, k.keyId, 'owner-only read is fine');
});

test('a damaged private key says what to do; a stale .pub is rewritten from the private key', () => {
  const dir = join(root, 'c');
  const k = loadOrCreateFleetKeys(dir);
  writeFileSync(k.publicFile, 'MCowBQYDK2VwAyEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
  assert.equal(loadOrCreateFleetKeys(dir).publicKeyText, k.publicKeyText);
  assert.equal(readFileSync(k.publicFile, 'utf8').trim(), k.publicKeyText, 'the .pub file is never trusted');
  writeFileSync(k.privateFile, 'not a key', { mode: 0o600 });
  assert.throws(() => loadOrCreateFleetKeys(dir), /fleet-key\.pem: not a PEM private key .*restore it from a backup/);
});
