import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import type { Action } from '../../../../shared/policy/actions.ts';
import { LocalActionExecutor } from '../../../../agent/heal/actions/executor-impl.ts';
import { ProcessKiller } from '../../../../agent/heal/actions/kill-process.ts';
import { startMemoryChaos } from '../../../../agent/chaos/memory.ts';
import { readProc } from '../../../../agent/heal/services/linux-process.ts';
import { waitFor } from '../../../support/wait.ts';
import { alive, burner, idler, Procs } from './fixtures/procs.ts';

const procs = new Procs();
const dir = mkdtempSync(join(tmpdir(), 'homeostat-kill-'));
afterEach(() => procs.killAll());
after(() => rmSync(dir, { recursive: true, force: true }));

const ctx = (dryRun = false) => ({ signal: AbortSignal.timeout(30_000), dryRun, correlationId: 'test' });
const kill = (target: { pattern: string } | { top: 'cpu' | 'memory' }, graceMs = 2000): Action => ({ type: 'kill_process', target, graceMs });

/** A process whose comm is "sshd" (a copy of sh under that name) and whose cmdline carries `tag`. */
function sshdDecoy(tag: string): string[] {
  const sshd = join(dir, 'sshd');
  copyFileSync('/bin/sh', sshd);
  return [sshd, '-c', 'while :; do sleep 1; done', tag];
}

test('by pattern: kills the real busy loop, never the sshd decoy, a neverKill process, or the agent itself', async () => {
  const tag = `homeostat-test-${randomBytes(4).toString('hex')}`;
  const target = await procs.start(burner(tag));
  const decoy = await procs.start(sshdDecoy(tag));
  assert.equal(readProc(decoy)?.comm, 'sshd');
  const kept = await procs.start(idler(`keepme-${tag}`));
  // The agent's own process matches the pattern too: it must be excluded like the rest.
  const title = process.title;
  process.title = `${tag}-agent`;
  try {
    const ex = new LocalActionExecutor({ kill: { neverKill: ['keepme-[0-9a-z-]+$'] } });
    const out = await ex.execute(kill({ pattern: tag }), ctx());
    assert.equal(out.ok, true, out.detail);
    const killed = out.data!.killed as Array<{ pid: number; comm: string; how: string }>;
    assert.deepEqual(killed.map((k) => k.pid), [target]);
    assert.equal(killed[0]!.how, 'exited_after_sigterm');
    assert.match(out.detail, new RegExp(`^killed pid ${target} \\(node, exited after sigterm\\)`));
    await waitFor(() => !alive(target), 10_000, 'the burner is gone');
    assert.equal(alive(decoy), true, 'sshd is never killed');
    assert.equal(alive(kept), true, 'neverKill is honoured');
    assert.equal(alive(process.pid), true);
    assert.deepEqual(await ex.targetState(kill({ pattern: tag })), { healthy: true, detail: `no killable process matches /${tag}/` });
  } finally {
    process.title = title;
  }
});

test('the exclusion list always holds the agent, its ancestors, pid 1, kernel threads and sshd', () => {
  const k = new ProcessKiller();
  const self = readProc(process.pid)!;
  const parent = readProc(process.ppid)!;
  const prot = new Set([process.pid, process.ppid]);
  assert.equal(k.excludedBecause(self, prot), 'the agent itself');
  assert.equal(k.excludedBecause(parent, prot), 'an ancestor of the agent');
  assert.equal(k.excludedBecause({ ...self, pid: 1 }, prot), 'init (pid 1)');
  assert.equal(k.excludedBecause({ ...self, pid: 999_999, ppid: 2, cmdline: [] }, prot), 'a kernel thread');
  assert.equal(k.excludedBecause({ ...self, pid: 999_999, comm: 'sshd-session' }, prot), 'sshd');
  assert.equal(k.excludedBecause({ ...self, pid: 999_999, comm: 'bash', cmdline: ['sshd: admin@pts/0'] }, prot), 'sshd');
  assert.equal(k.excludedBecause({ ...self, pid: 999_999, comm: 'sshdump' }, prot), null, 'only sshd itself, not every name starting with it');
  // Even a config that tries to clear the list cannot: the built-ins are not configurable.
  const k2 = new ProcessKiller({ neverKill: [] });
  assert.equal(k2.excludedBecause({ ...self, pid: 999_999, comm: 'sshd' }, prot), 'sshd');
  assert.ok(!k.candidates().some((p) => p.pid === process.pid || p.pid === process.ppid || p.pid === 1));
});

test('top cpu: measured over an interval, picks the real burner over an idle child, and reports its cpu', async () => {
  const hot = await procs.start(burner('homeostat-test-hot'));
  const cold = await procs.start(idler('homeostat-test-cold'));
  // Scoped to this test's children: on a shared machine "top CPU" must not land on someone else's process.
  const ex = new LocalActionExecutor({ kill: { descendantsOf: process.pid, minTopCpuPct: 5, cpuSampleMs: 1000 } });
  const dry = await ex.execute(kill({ top: 'cpu' }), ctx(true));
  assert.equal(dry.ok, true, dry.detail);
  assert.equal((dry.data!.wouldKill as Array<{ pid: number }>)[0]!.pid, hot);
  assert.equal(alive(hot), true, 'dry-run kills nothing');

  const out = await ex.execute(kill({ top: 'cpu' }), ctx());
  assert.equal(out.ok, true, out.detail);
  const [k] = out.data!.killed as Array<{ pid: number; cpuPct: number }>;
  assert.equal(k!.pid, hot);
  assert.ok(k!.cpuPct > 5, `burner measured at ${k!.cpuPct}%`);
  await waitFor(() => !alive(hot), 10_000, 'the burner is gone');
  assert.equal(alive(cold), true, 'the idle child is untouched');
});

test('top cpu with no runaway refuses to kill the merely busiest process', async () => {
  const cold = await procs.start(idler('homeostat-test-cold2'));
  const ex = new LocalActionExecutor({ kill: { descendantsOf: process.pid, minTopCpuPct: 50, cpuSampleMs: 300 } });
  const out = await ex.execute(kill({ top: 'cpu' }), ctx());
  assert.equal(out.ok, false);
  assert.match(out.detail, /no killable process uses ≥ 50% of a core .*nothing killed/);
  assert.equal(alive(cold), true);
});

test('top memory: picks the 64 MB balloon over an idle child', async () => {
  const cold = await procs.start(idler('homeostat-test-cold3'));
  const balloon = await startMemoryChaos({ durationMs: 60_000, mb: 64 });
  try {
    const ex = new LocalActionExecutor({ kill: { descendantsOf: process.pid } });
    const out = await ex.execute(kill({ top: 'memory' }), ctx());
    assert.equal(out.ok, true, out.detail);
    const [k] = out.data!.killed as Array<{ pid: number; rssBytes: number }>;
    assert.equal(k!.pid, balloon.pids[0]);
    assert.ok(k!.rssBytes >= 64 * 1048576, `rss ${k!.rssBytes}`);
    const report = await balloon.done;
    assert.equal((report.data.exit as { signal: string }).signal, 'SIGTERM');
    assert.equal(alive(cold), true);
  } finally {
    await balloon.stop();
  }
});

test('SIGTERM, then SIGKILL after graceMs for a process that ignores SIGTERM', async () => {
  const tag = `homeostat-test-${randomBytes(4).toString('hex')}`;
  const ready = join(dir, `${tag}.ready`);
  const pid = await procs.start([process.execPath, '-e', `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`, tag]);
  await waitFor(() => { try { return rmSync(ready), true; } catch { return false; } }, 10_000, 'the SIGTERM handler is installed');
  const out = await new LocalActionExecutor().execute(kill({ pattern: tag }, 300), ctx());
  const [k] = out.data!.killed as Array<{ pid: number; how: string }>;
  assert.deepEqual([k!.pid, k!.how], [pid, 'sigkill']);
  await waitFor(() => !alive(pid), 10_000, 'the stubborn process is gone');
});

test('a pattern matching more processes than the limit is refused whole: nothing is killed', async () => {
  const tag = `homeostat-test-${randomBytes(4).toString('hex')}`;
  const pids = [await procs.start(idler(tag)), await procs.start(idler(tag)), await procs.start(idler(tag))];
  const ex = new LocalActionExecutor({ kill: { maxPatternMatches: 2 } });
  const out = await ex.execute(kill({ pattern: tag }), ctx());
  assert.equal(out.ok, false);
  assert.match(out.detail, /matches 3 processes, more than the limit of 2: narrow the pattern \(nothing was killed\)/);
  for (const p of pids) assert.equal(alive(p), true);
  const st = await ex.targetState(kill({ pattern: tag }));
  assert.equal(st.healthy, false);
});

test('an invalid pattern is an outcome saying so, not a throw', async () => {
  const out = await new LocalActionExecutor().execute(kill({ pattern: '(' }), ctx());
  assert.equal(out.ok, false);
  assert.match(out.detail, /kill_process pattern "\(" is not a valid regular expression/);
});
