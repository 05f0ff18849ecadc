import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeSchema } from '../../../../agent/heal/probes/schema.ts';

test('an http probe gets its defaults: 10 s interval, 2 s timeout, status 200-399', () => {
  const p = ProbeSchema.parse({ name: 'web', kind: 'http', url: 'http://127.0.0.1:8080/health' });
  assert.equal(p.kind, 'http');
  if (p.kind !== 'http') return;
  assert.equal(p.intervalSec, 10);
  assert.equal(p.timeoutMs, 2000);
  assert.deepEqual(p.expectStatus, { min: 200, max: 399 });
});

test('each kind requires its own fields and rejects the others', () => {
  assert.equal(ProbeSchema.safeParse({ name: 't', kind: 'tcp', host: '127.0.0.1', port: 22 }).success, true);
  assert.equal(ProbeSchema.safeParse({ name: 't', kind: 'tcp', host: '127.0.0.1' }).success, false);
  assert.equal(ProbeSchema.safeParse({ name: 'c', kind: 'command', argv: [] }).success, false);
  assert.equal(ProbeSchema.safeParse({ name: 'c', kind: 'command', argv: ['true'], url: 'http://x' }).success, false);
  const c = ProbeSchema.parse({ name: 'c', kind: 'command', argv: ['true'] });
  assert.equal(c.kind === 'command' && c.expectExit, 0);
});

test('a timeout as long as the interval is refused, naming the field', () => {
  const r = ProbeSchema.safeParse({ name: 'web', kind: 'http', url: 'http://127.0.0.1/', intervalSec: 1, timeoutMs: 1000 });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ['timeoutMs']);
});

test('a bodyMatch that is not a regular expression, a non-http URL and a bad name are refused', () => {
  assert.equal(ProbeSchema.safeParse({ name: 'web', kind: 'http', url: 'http://127.0.0.1/', bodyMatch: '(' }).success, false);
  assert.equal(ProbeSchema.safeParse({ name: 'web', kind: 'http', url: 'ftp://127.0.0.1/' }).success, false);
  assert.equal(ProbeSchema.safeParse({ name: '../x', kind: 'tcp', host: 'h', port: 1 }).success, false);
});
