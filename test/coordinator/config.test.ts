import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { ConfigError } from '../../shared/config/load.ts';

const file = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'homeostat-ccfg-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
};

test('defaults: embedded broker on 1884, API on loopback 8787, open enrolment', () => {
  const c = loadCoordinatorConfig();
  assert.deepEqual(c.broker, { embedded: { host: '127.0.0.1', port: 1884 } });
  assert.equal(c.api.port, 8787);
  assert.equal(c.api.host, '127.0.0.1');
  assert.equal(c.enrolment.mode, 'open');
});

test('an external broker URL replaces the embedded one', () => {
  const c = loadCoordinatorConfig(file('broker:\n  url: mqtt://10.0.0.5:1883\n'));
  assert.deepEqual(c.broker, { url: 'mqtt://10.0.0.5:1883' });
});

test('errors name the file and the field', () => {
  const f = file('api:\n  port: 70000\nenrolment:\n  mode: closed\n');
  assert.throws(
    () => loadCoordinatorConfig(f),
    (e: Error) => e instanceof ConfigError && e.message.startsWith(`config ${f}:`) && /api\.port: a port from 0/.test(e.message) && /enrolment\.mode/.test(e.message),
  );
  assert.throws(() => loadCoordinatorConfig(file('apii: {}\n')), /unknown key\(s\) "apii"/);
  assert.throws(() => loadCoordinatorConfig('/nonexistent/c.yaml'), /cannot read it \(ENOENT\)/);
});
