import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseDuration } from '../../../agent/chaos/options.ts';
import { runChaos, startChaos } from '../../../agent/chaos/run-chaos.ts';
import { runProbe } from '../../../agent/heal/probes/run-probe.ts';
import { CommandServiceAdapter } from '../../../agent/heal/services/command-service.ts';
import { isAlive } from '../../../agent/heal/services/linux-process.ts';
import { CommandServiceSchema } from '../../../agent/heal/services/schema.ts';
import { freePort } from '../../support/ports.ts';
import { waitFor } from '../../support/wait.ts';
import { answers, demoDecl, healthProbe, killFromPidfile } from '../heal/services/fixtures/demo.ts';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-chaos-'));
const pidfiles: string[] = [];
after(() => {
  for (const p of pidfiles) killFromPidfile(p);
  rmSync(dir, { recursive: true, force: true });
});

test('parseDuration reads ms, s, m, h and bare seconds, and refuses the rest', () => {
  assert.deepEqual(['500ms', '30s', '2m', '1h', '1.5s', '45'].map(parseDuration), [500, 30_000, 120_000, 3_600_000, 1500, 45_000]);
  assert.throws(() => parseDuration('soon'), /expected a number with ms, s, m or h/);
});

test('disk: writes the asked megabytes as files, then removes them when the duration ends', async () => {
  const d = join(dir, 'fill');
  const r = await runChaos('disk', { durationMs: 400, dir: d, mb: 3, rateMbPerSec: 100 });
  assert.deepEqual([r.data.files, r.data.bytes, r.data.kept], [3, 3 * 1048576, false]);
  assert.deepEqual(readdirSync(d), []);
});

test('disk: --keep leaves the files (for clean_dir to find)', async () => {
  const d = join(dir, 'keep');
  await runChaos('disk', { durationMs: 300, dir: d, mb: 2, rateMbPerSec: 100, keep: true });
  const files = readdirSync(d);
  assert.equal(files.length, 2);
  for (const f of files) assert.equal(statSync(join(d, f)).size, 1048576);
});

test('disk: an abort stops the fill early and still cleans up', async () => {
  const d = join(dir, 'abort');
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 300);
  const r = await runChaos('disk', { durationMs: 60_000, dir: d, mb: 1000, rateMbPerSec: 5 }, ctl.signal);
  assert.match(r.detail, /stopped early; removed them/);
  assert.ok((r.data.files as number) < 1000);
  assert.deepEqual(readdirSync(d), []);
});

test('disk: more than half of the free space is refused', async () => {
  await assert.rejects(startChaos('disk', { durationMs: 1000, dir: join(dir, 'big'), mb: 1_048_576 }), /disk chaos: 1048576 MB is more than 50% of the \d+ MB available/);
});

test('kill: SIGKILLs the managed service from its pidfile; a pid running something else is refused', async () => {
  const decl = CommandServiceSchema.parse({ name: 'victim', kind: 'command', argv: ['sleep', '300'], pidfile: join(dir, 'victim.pid') });
  pidfiles.push(decl.pidfile);
  const svc = new CommandServiceAdapter(decl);
  const { pid } = await svc.start();
  await assert.rejects(runChaos('kill', { pidfile: decl.pidfile, argv: ['sleep', '301'] }), /not the service's argv: stale pidfile, refusing/);
  assert.equal(isAlive(pid!), true);
  const r = await runChaos('kill', { pidfile: decl.pidfile, argv: decl.argv });
  assert.deepEqual([r.data.pid, r.data.gone], [pid, true]);
  assert.equal((await svc.status()).running, false);
});

test('hang: the service stays alive but its HTTP probe times out, until the fault ends by itself', async () => {
  const port = await freePort();
  const decl = demoDecl(dir, port);
  pidfiles.push(decl.pidfile);
  const svc = new CommandServiceAdapter(decl);
  const { pid } = await svc.start();
  await waitFor(() => answers(port), 20_000, 'the demo service answers');

  const h = await startChaos('hang', { durationMs: 3000, flagFile: join(dir, 'hang.flag') });
  const hung = await runProbe(healthProbe(port, 500));
  assert.deepEqual([hung.ok, hung.detail], [false, 'timed out after 500 ms (no complete answer)']);
  assert.deepEqual(await svc.status(), { running: true, pid, detail: `running as pid ${pid}` });
  await h.done; // never stopped: the deadline in the flag file ends it
  await waitFor(() => answers(port), 10_000, 'the service answers again after the hang');
});

test('hang by signal: SIGUSR1 hangs the service, stop() sends SIGUSR2 and it answers again', async () => {
  const port = await freePort();
  const decl = CommandServiceSchema.parse({ ...demoDecl(dir, port), name: 'demo2', pidfile: join(dir, 'demo2.pid') });
  pidfiles.push(decl.pidfile);
  const svc = new CommandServiceAdapter(decl);
  await svc.start();
  await waitFor(() => answers(port), 20_000, 'the demo service answers');
  const h = await startChaos('hang', { durationMs: 60_000, pidfile: decl.pidfile });
  await waitFor(async () => !(await runProbe(healthProbe(port, 300))).ok, 10_000, 'the signalled hang takes effect');
  assert.equal((await svc.status()).running, true);
  const r = await h.stop();
  assert.equal(r.data.stoppedEarly, true);
  await waitFor(() => answers(port), 10_000, 'the service answers again after SIGUSR2');
});
