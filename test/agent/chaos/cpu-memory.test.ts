import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startChaos } from '../../../agent/chaos/run-chaos.ts';
import { isAlive, readProc } from '../../../agent/heal/services/linux-process.ts';
import { waitFor } from '../../support/wait.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

test('cpu: the burner outlives a SIGKILLed parent and still exits by its own deadline', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/agent/chaos/fixtures/start-cpu-then-wait.ts'), '6000'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  let burner = 0;
  try {
    let out = '';
    parent.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    burner = await waitFor(() => Number(out.split('\n')[0]) || null, 30_000, 'the fixture prints the burner pid');
    const ticks0 = readProc(burner)!.cpuTicks;
    assert.ok(readProc(burner)!.cmdline.join(' ').includes('homeostat-chaos-cpu'));
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    assert.equal(isAlive(burner), true, 'the burner is still running after its parent died');
    await waitFor(() => (readProc(burner)?.cpuTicks ?? 0) > ticks0, 10_000, 'the burner burns CPU');
    // No one is left to stop it: only its own deadline can.
    await waitFor(() => !isAlive(burner), 30_000, 'the orphaned burner exits by itself');
  } finally {
    parent.kill('SIGKILL');
    if (burner && isAlive(burner)) process.kill(burner, 'SIGKILL');
  }
});

test('cpu: a fault nobody stops ends by itself (exit 0, not the parent\'s backstop SIGKILL)', async () => {
  const h = await startChaos('cpu', { durationMs: 500 });
  assert.equal(h.pids.length, 1);
  const r = await h.done; // never stopped
  assert.deepEqual(r.data.exits, [{ code: 0, signal: null }]);
  assert.equal(isAlive(h.pids[0]!), false);
});

test('cpu: stop() ends it early; cores > 1 burns one child per core', async () => {
  const h = await startChaos('cpu', { durationMs: 60_000, cores: 2 });
  assert.equal(h.pids.length, 2);
  const r = await h.stop();
  assert.equal(r.data.stoppedEarly, true);
  for (const p of h.pids) assert.equal(isAlive(p), false);
});

test('memory: the balloon is really resident, and ends by itself', async () => {
  const h = await startChaos('memory', { durationMs: 1500, mb: 32 });
  const status = await import('node:fs').then((fs) => fs.readFileSync(`/proc/${h.pids[0]}/status`, 'utf8'));
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]);
  assert.ok(rssKb >= 32 * 1024, `VmRSS ${rssKb} kB`);
  const r = await h.done;
  assert.deepEqual(r.data.exit, { code: 0, signal: null });
});

test('memory: more than half of the available memory is refused', async () => {
  await assert.rejects(startChaos('memory', { durationMs: 1000, mb: 1_000_000 }), /memory chaos: 1000000 MB is more than 50% of the \d+ MB available: ask for at most \d+ MB/);
});

test('options are validated, naming the field', async () => {
  await assert.rejects(startChaos('cpu', { durationMs: 0 }), /chaos cpu: durationMs: /);
  await assert.rejects(startChaos('memory', { durationMs: 10 } as never), /chaos memory: mb: /);
  await assert.rejects(startChaos('hang', { durationMs: 10 }), /give exactly one of flagFile or pidfile/);
});
