import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SystemdServiceSchema } from '../../../../agent/heal/services/schema.ts';
import { ServiceCommandError, ServiceUnavailableError } from '../../../../agent/heal/services/service.ts';
import { SystemdServiceAdapter } from '../../../../agent/heal/services/systemd-service.ts';

/*
 * What these tests prove: the adapter's own logic (the sd_booted check, the argv it builds, how
 * it reads systemctl's exit codes and output, its timeout). They do not prove that a real
 * systemd behaves as the fake below does: this machine has no systemd to run against.
 */

let dir = '';
let marker = '';
let fake = '';
let calls = '';
let state = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-systemd-'));
  marker = join(dir, 'run-systemd-system');
  mkdirSync(marker);
  calls = join(dir, 'calls.log');
  state = join(dir, 'state');
  fake = join(dir, 'systemctl');
  // A fake systemctl: records its argv, keeps the unit's state in a file, answers like systemctl does.
  writeFileSync(
    fake,
    `#!/bin/sh
echo "$*" >> ${calls}
case "$1" in
  is-active) s=$(cat ${state} 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ] && exit 0 || exit 3 ;;
  show) [ "$(cat ${state} 2>/dev/null)" = active ] && echo 4242 || echo 0; exit 0 ;;
  restart|start) [ "$3" = broken.service ] && { echo "Job for broken.service failed because the control process exited with error code." >&2; exit 1; }; echo active > ${state}; exit 0 ;;
  stop) echo inactive > ${state}; exit 0 ;;
  slow) sleep 30 ;;
esac
`,
  );
  chmodSync(fake, 0o755);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const unit = (u: string, extra: Record<string, unknown> = {}) => SystemdServiceSchema.parse({ name: 'web', kind: 'systemd', unit: u, ...extra });
const recorded = () => readFileSync(calls, 'utf8').trim().split('\n');

test('on this host, the adapter says "systemd not available" exactly when /run/systemd/system is missing', async () => {
  const svc = new SystemdServiceAdapter(unit('nginx.service'));
  if (existsSync('/run/systemd/system')) {
    // A systemd host: whatever systemctl says about nginx, it is not "not booted with systemd".
    await svc.status().then(
      () => undefined,
      (e: Error) => assert.doesNotMatch(e.message, /does not exist, so it was not booted/),
    );
  } else {
    await assert.rejects(svc.status(), (e: Error) => e instanceof ServiceUnavailableError && /systemd not available on this host \(\/run\/systemd\/system does not exist/.test(e.message));
    await assert.rejects(svc.restart(), ServiceUnavailableError);
  }
});

test('a systemctl binary that is not there is "systemd not available", not a crash', async () => {
  const svc = new SystemdServiceAdapter(unit('nginx.service'), { systemctl: join(dir, 'no-systemctl'), bootedMarker: marker });
  await assert.rejects(svc.status(), (e: Error) => e instanceof ServiceUnavailableError && /not found on PATH/.test(e.message));
});

test('status and restart build the systemctl argv (with -- before the unit) and read its answers', async () => {
  rmSync(calls, { force: true });
  rmSync(state, { force: true });
  const svc = new SystemdServiceAdapter(unit('web.service'), { systemctl: fake, bootedMarker: marker });
  assert.deepEqual(await svc.status(), { running: false, detail: 'unit web.service is inactive' });
  const r = await svc.restart();
  assert.deepEqual(r, { running: true, pid: 4242, detail: 'unit web.service is active (main pid 4242)' });
  assert.deepEqual(recorded(), [
    'is-active -- web.service',
    'show --property=MainPID --value -- web.service',
    'restart -- web.service',
    'is-active -- web.service',
    'show --property=MainPID --value -- web.service',
  ]);
  const stopped = await svc.stop();
  assert.equal(stopped.running, false);
});

test('a failed restart is an error quoting systemctl and pointing at the journal', async () => {
  const svc = new SystemdServiceAdapter(unit('broken.service'), { systemctl: fake, bootedMarker: marker });
  await assert.rejects(svc.restart(), (e: Error) => e instanceof ServiceCommandError && /systemctl restart broken.service failed \(exit 1\): Job for broken.service failed.*journalctl -u broken.service/.test(e.message));
});

test('a systemctl that never answers is cut off at timeoutMs', async () => {
  const slow = join(dir, 'slow-systemctl');
  writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(slow, 0o755);
  const svc = new SystemdServiceAdapter(unit('web.service', { timeoutMs: 200 }), { systemctl: slow, bootedMarker: marker });
  await assert.rejects(svc.status(), (e: Error) => e instanceof ServiceCommandError && /no answer within 200 ms/.test(e.message));
});

test('a unit name starting with "-" (an option to systemctl) is refused by the schema', () => {
  assert.equal(SystemdServiceSchema.safeParse({ name: 'x', kind: 'systemd', unit: '--now' }).success, false);
});
