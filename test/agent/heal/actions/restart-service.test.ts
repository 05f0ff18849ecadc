import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalActionExecutor } from '../../../../agent/heal/actions/executor-impl.ts';
import { isAlive } from '../../../../agent/heal/services/linux-process.ts';
import { SystemdServiceSchema } from '../../../../agent/heal/services/schema.ts';
import { freePort } from '../../../support/ports.ts';
import { waitFor } from '../../../support/wait.ts';
import { answers, demoDecl, healthProbe, killFromPidfile } from '../services/fixtures/demo.ts';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-restart-'));
const pidfiles: string[] = [];
after(() => {
  for (const p of pidfiles) killFromPidfile(p);
  rmSync(dir, { recursive: true, force: true });
});
const ctx = (dryRun = false) => ({ signal: AbortSignal.timeout(30_000), dryRun, correlationId: 'test' });
const restart = (service: string) => ({ type: 'restart_service' as const, service });

test('restart_service: a killed service is restarted under a new pid; targetState follows process and probe', async () => {
  const port = await freePort();
  const decl = { ...demoDecl(dir, port), probe: 'demo-health' };
  pidfiles.push(decl.pidfile);
  const ex = new LocalActionExecutor({ services: [decl], probes: [healthProbe(port)] });

  const first = await ex.execute(restart('demo'), ctx());
  assert.equal(first.ok, true, first.detail);
  const pid1 = first.data!.pid as number;
  await waitFor(() => answers(port), 20_000, 'the demo service answers');
  const healthy = await ex.targetState(restart('demo'));
  assert.equal(healthy.healthy, true, healthy.detail);
  assert.match(healthy.detail, /running as pid \d+; probe "demo-health": HTTP 200/);

  const dry = await ex.execute(restart('demo'), ctx(true));
  assert.equal(dry.ok, true);
  assert.equal(dry.detail, `dry-run: would restart command service "demo" (running as pid ${pid1})`);
  assert.equal(isAlive(pid1), true, 'dry-run restarts nothing');

  process.kill(pid1, 'SIGKILL');
  await waitFor(async () => !(await ex.targetState(restart('demo'))).healthy, 10_000, 'the kill is seen');
  assert.match((await ex.targetState(restart('demo'))).detail, /is not running/);

  const again = await ex.execute(restart('demo'), ctx());
  assert.equal(again.ok, true, again.detail);
  assert.notEqual(again.data!.pid, pid1);
  await waitFor(async () => (await ex.targetState(restart('demo'))).healthy, 20_000, 'healthy again after the restart');

  const live = again.data!.pid as number;
  const third = await ex.execute(restart('demo'), ctx());
  assert.equal(third.data!.previousPid, live, 'a running service is stopped first, and the outcome says which pid');
  assert.equal(isAlive(live), false);
});

test('restart_service of an undeclared service is refused; of a systemd unit without systemd, reported as such', async () => {
  const ex = new LocalActionExecutor({
    services: [SystemdServiceSchema.parse({ name: 'nginx', kind: 'systemd', unit: 'nginx.service' })],
    systemd: { bootedMarker: join(dir, 'no-such-marker') },
  });
  const unknown = await ex.execute(restart('postgres'), ctx());
  assert.deepEqual([unknown.ok, unknown.detail], [false, 'service "postgres" is not declared in the local config (declared: nginx)']);
  const sd = await ex.execute(restart('nginx'), ctx());
  assert.equal(sd.ok, false);
  assert.match(sd.detail, /systemd not available on this host/);
  const st = await ex.targetState(restart('nginx'));
  assert.equal(st.healthy, false);
  assert.match(st.detail, /^cannot check: .*systemd not available/);
});

test('a service naming an undeclared probe is a config error at construction', () => {
  assert.throws(() => new LocalActionExecutor({ services: [{ ...demoDecl(dir, 1), probe: 'nope' }] }), /names probe "nope", which is not declared/);
});
