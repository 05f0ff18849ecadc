import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { CommandServiceAdapter } from '../../../../agent/heal/services/command-service.ts';
import { isAlive, readProc } from '../../../../agent/heal/services/linux-process.ts';
import { CommandServiceSchema } from '../../../../agent/heal/services/schema.ts';
import { ServiceCommandError } from '../../../../agent/heal/services/service.ts';
import { freePort } from '../../../support/ports.ts';
import { waitFor } from '../../../support/wait.ts';
import { answers, demoDecl, killFromPidfile } from './fixtures/demo.ts';

let dir = '';
const pidfiles: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-svc-'));
});

afterEach(() => {
  for (const p of pidfiles.splice(0)) killFromPidfile(p);
  rmSync(dir, { recursive: true, force: true });
});

function service(decl: Parameters<typeof CommandServiceSchema.parse>[0]) {
  const d = CommandServiceSchema.parse(decl);
  pidfiles.push(d.pidfile);
  return new CommandServiceAdapter(d);
}

test('a real service: started, SIGKILLed, seen as not running, restarted with a new pid that answers', async () => {
  const port = await freePort();
  const decl = demoDecl(dir, port);
  const svc = service(decl);
  assert.deepEqual(await svc.status(), { running: false, detail: `no pidfile at ${decl.pidfile}` });

  const started = await svc.start();
  assert.equal(started.running, true);
  const pid1 = started.pid!;
  assert.equal(Number(readFileSync(decl.pidfile, 'utf8')), pid1);
  await waitFor(() => answers(port), 20_000, 'the demo service answers /health');
  assert.deepEqual(await svc.status(), { running: true, pid: pid1, detail: `running as pid ${pid1}` });

  process.kill(pid1, 'SIGKILL');
  const down = await waitFor(async () => {
    const s = await svc.status();
    return s.running ? null : s;
  }, 10_000, 'the killed service is seen as not running');
  assert.equal(down.detail, `pid ${pid1} from ${decl.pidfile} is not running`);
  assert.equal(await answers(port), false);

  const r = await svc.restart();
  assert.equal(r.running, true);
  assert.notEqual(r.pid, pid1);
  assert.equal(r.previousPid, undefined, 'nothing was running to stop');
  await waitFor(() => answers(port), 20_000, 'the restarted service answers /health');
  assert.equal((await svc.status()).pid, r.pid);

  const stopped = await svc.stop();
  assert.equal(stopped.running, false);
  assert.match(stopped.detail, new RegExp(`stopped pid ${r.pid} \\(exited after sigterm`));
  assert.equal(isAlive(r.pid!), false);
  assert.deepEqual(await svc.status(), { running: false, detail: `no pidfile at ${decl.pidfile}` });
});

test('a pidfile whose pid now runs another program is not the service, and stop() leaves that process alone', async () => {
  const decl = { name: 'x', kind: 'command' as const, argv: ['sleep', '300'], pidfile: join(dir, 'x.pid') };
  const svc = service(decl);
  writeFileSync(decl.pidfile, `${process.pid}\n`); // a live pid that is not `sleep 300`
  const s = await svc.status();
  assert.equal(s.running, false);
  assert.match(s.detail, /is now another program .*pid reused/);
  await svc.stop();
  assert.equal(isAlive(process.pid), true);
});

test('a service that rewrites its own title (as nginx does) is still the process the agent started: running, and stop() stops it', async () => {
  const title = `homeostat-retitled-${process.pid}`;
  const svc = service({ name: 't', kind: 'command', argv: [process.execPath, '-e', `process.title = ${JSON.stringify(title)}; setInterval(() => {}, 1000)`], pidfile: join(dir, 't.pid') });
  const { pid } = await svc.start();
  await waitFor(() => readProc(pid!)?.cmdline[0] === title, 10_000, 'the title rewritten');
  assert.deepEqual(await svc.status(), { running: true, pid, detail: `running as pid ${pid}` });
  const stopped = await svc.stop();
  assert.equal(stopped.stoppedPid, pid);
  assert.equal(isAlive(pid!), false);
  assert.equal((await svc.status()).running, false);
});

test('start is idempotent: a second start does not spawn a second copy', async () => {
  const svc = service({ name: 's', kind: 'command', argv: ['sleep', '300'], pidfile: join(dir, 's.pid') });
  const a = await svc.start();
  const b = await svc.start();
  assert.equal(b.pid, a.pid);
  assert.equal(b.detail, `already running as pid ${a.pid}`);
});

test('stop escalates to SIGKILL for a service that ignores SIGTERM, after stopTimeoutMs', async () => {
  const ready = join(dir, 'ready');
  const svc = service({
    name: 'stubborn',
    kind: 'command',
    argv: [process.execPath, '-e', `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`],
    pidfile: join(dir, 'stubborn.pid'),
    stopTimeoutMs: 300,
  });
  const { pid } = await svc.start();
  await waitFor(() => { try { readFileSync(ready); return true; } catch { return false; } }, 10_000, 'the SIGTERM handler is installed');
  const r = await svc.stop();
  assert.match(r.detail, /\(sigkill, \d+ ms\)/);
  assert.equal(isAlive(pid!), false);
});

test('stop takes the whole process group: a shell wrapper\'s child goes too', async () => {
  const childPidFile = join(dir, 'grandchild.pid');
  const svc = service({ name: 'wrapped', kind: 'command', argv: ['sh', '-c', `sleep 300 & echo $! > ${childPidFile}; wait`], pidfile: join(dir, 'w.pid') });
  await svc.start();
  const grandchild = await waitFor(() => { try { return Number(readFileSync(childPidFile, 'utf8')) || null; } catch { return null; } }, 10_000, 'the wrapper started its child');
  assert.equal(isAlive(grandchild), true);
  await svc.stop();
  await waitFor(() => !isAlive(grandchild), 10_000, 'the grandchild is gone');
});

test('stdout and stderr go to the log file', async () => {
  const log = join(dir, 'logs', 'echo.log');
  const svc = service({ name: 'echo', kind: 'command', argv: ['sh', '-c', 'echo out-line; echo err-line >&2; sleep 300'], pidfile: join(dir, 'e.pid'), logFile: log });
  await svc.start();
  await waitFor(() => { try { const t = readFileSync(log, 'utf8'); return t.includes('out-line') && t.includes('err-line'); } catch { return false; } }, 10_000, 'both lines in the log');
});

test('a program that cannot be started is an error naming the argv', async () => {
  const svc = service({ name: 'nope', kind: 'command', argv: ['/nonexistent/homeostat-svc'], pidfile: join(dir, 'n.pid') });
  await assert.rejects(svc.start(), (e: Error) => e instanceof ServiceCommandError && /cannot start \["\/nonexistent\/homeostat-svc"\].*ENOENT/.test(e.message));
});
