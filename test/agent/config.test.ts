import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAgentConfig } from '../../agent/config.ts';
import { resolveAgentId } from '../../agent/identity.ts';
import { AgentIdSchema } from '../../shared/protocol/ids.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'homeostat-acfg-'));

test('defaults give a working local agent', () => {
  const c = loadAgentConfig();
  assert.equal(c.broker.url, 'mqtt://127.0.0.1:1884');
  assert.equal(c.sampling.intervalMs, 1000);
  assert.equal(c.store.outbox.maxEvents, 100_000);
});

test('every problem is reported with its field, in one line', () => {
  const f = join(dir(), 'a.json');
  writeFileSync(f, JSON.stringify({ sampling: { intervalMs: 5 }, broker: { url: 'http://x' }, id: 'Bad Id' }));
  assert.throws(
    () => loadAgentConfig(f),
    (e: Error) => /sampling\.intervalMs: Too small/.test(e.message) && /broker\.url: a URL like mqtt:\/\/host:1883/.test(e.message) && /id: agent id/.test(e.message) && !e.message.includes('\n'),
  );
});

test('the agent id is generated once, kept, and valid', () => {
  const d = dir();
  const id = resolveAgentId(d);
  assert.ok(AgentIdSchema.safeParse(id).success, id);
  assert.equal(resolveAgentId(d), id);
  assert.equal(resolveAgentId(d, 'fixed-id'), 'fixed-id');
  writeFileSync(join(d, 'agent-id'), 'NOT/valid\n');
  assert.throws(() => resolveAgentId(d), /not a valid agent id: fix it or delete the file/);
});
