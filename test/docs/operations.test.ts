import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { AgentConfigSchema } from '../../agent/config.ts';
import { checkCeiling } from '../../agent/heal/ceiling.ts';
import { FEATURE_NAMES } from '../../agent/sense/features.ts';
import { CoordinatorConfigSchema } from '../../coordinator/config.ts';

test('the agent config example in docs/operations.md is a valid config whose rules fit its own ceiling', () => {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const block = /## Agent config[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/operations.md has the agent config example');
  const config = AgentConfigSchema.parse(parse(block[1]!));
  assert.ok(config.heal.policy.rules.length > 0);
  checkCeiling(config.heal.policy, config.heal, FEATURE_NAMES);
});

test('the coordinator config example in docs/operations.md is a valid config', () => {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const block = /## Coordinator config[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/operations.md has the coordinator config example');
  const config = CoordinatorConfigSchema.parse(parse(block[1]!));
  assert.equal(config.federation.strategy, 'fedavg');
  assert.equal(config.federation.deadlineSec, 900);
});
