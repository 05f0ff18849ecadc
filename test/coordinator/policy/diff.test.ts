import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { diffJson, formatDiff } from '../../../coordinator/policy/diff.ts';
import { canonicalJson } from '../../../shared/protocol/sign.ts';

const rule = (id: string, cooldownSec = 30) => ({ id, symptom: { kind: 'probe_failing', probe: 'web' }, action: { type: 'restart_service', service: 'web' }, guards: { cooldownSec } });

test('policy diffs name the rule by id and the field', () => {
  const v1 = { maxActionsPerHour: 20, rules: [rule('restart-web'), rule('clean-tmp')] };
  const v2 = { dryRun: true, rules: [rule('notify-cpu'), rule('restart-web', 60)] };
  assert.deepEqual(diffJson(v1, v2), [
    { op: 'removed', path: 'maxActionsPerHour', value: 20 },
    { op: 'changed', path: 'rules[id=restart-web].guards.cooldownSec', from: 30, to: 60 },
    { op: 'removed', path: 'rules[id=clean-tmp]', value: rule('clean-tmp') },
    { op: 'added', path: 'rules[id=notify-cpu]', value: rule('notify-cpu') },
    { op: 'added', path: 'dryRun', value: true },
  ]);
  assert.equal(
    formatDiff(diffJson(v1, v2).slice(0, 2)),
    '- maxActionsPerHour: 20\n~ rules[id=restart-web].guards.cooldownSec: 30 → 60',
  );
  assert.equal(formatDiff([]), '(no changes)');
});

test('a new order of the same rules is one change; arrays without ids diff by index; odd keys are quoted', () => {
  assert.deepEqual(diffJson({ rules: [rule('a'), rule('b')] }, { rules: [rule('b'), rule('a')] }), [{ op: 'changed', path: 'rules (order)', from: ['a', 'b'], to: ['b', 'a'] }]);
  assert.deepEqual(diffJson({ argv: ['a', 'b'] }, { argv: ['a', 'c', 'd'] }), [
    { op: 'changed', path: 'argv[1]', from: 'b', to: 'c' },
    { op: 'added', path: 'argv[2]', value: 'd' },
  ]);
  assert.deepEqual(diffJson({ 'my key': { 'x.y': 1 } }, { 'my key': { 'x.y': 2 } }), [{ op: 'changed', path: '"my key"["x.y"]', from: 1, to: 2 }]);
  assert.deepEqual(diffJson({ a: 1 }, { a: '1' }), [{ op: 'changed', path: 'a', from: 1, to: '1' }]);
  assert.deepEqual(diffJson({}, { rules: [] }), [{ op: 'added', path: 'rules', value: [] }]);
});

test('property: the diff is empty exactly when the two values are the same JSON (key order aside)', () => {
  const value = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
  fc.assert(
    fc.property(value, value, (a, b) => {
      assert.deepEqual(diffJson(a, a), []);
      assert.equal(diffJson(a, b).length === 0, canonicalJson(a) === canonicalJson(b));
    }),
    { numRuns: 500 },
  );
});
