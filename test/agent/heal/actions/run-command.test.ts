import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COMMAND_OUTPUT_BYTES, LocalActionExecutor } from '../../../../agent/heal/actions/executor-impl.ts';
import { runArgv } from '../../../../agent/heal/actions/run-argv.ts';
import { isAlive } from '../../../../agent/heal/services/linux-process.ts';
import { waitFor } from '../../../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ctx = (dryRun = false) => ({ signal: AbortSignal.timeout(30_000), dryRun, correlationId: 'test' });
const run = (command: string) => ({ type: 'run_command' as const, command });

const marker = join(dir, 'ran');
const ex = new LocalActionExecutor({
  commands: {
    // Shell metacharacters stay literal: there is no shell to read them.
    echo: ['echo', 'a;', 'touch', marker, '$HOME'],
    touch: ['touch', marker],
    fail: [process.execPath, '-e', 'console.error("flush failed"); process.exit(4)'],
    slow: ['sleep', '30'],
    loud: [process.execPath, '-e', 'process.stdout.write("x".repeat(10000) + "END")'],
  },
  commandTimeoutMs: 300,
});

test('a name not in the local table is refused and nothing runs, including prototype names', async () => {
  for (const name of ['rm-everything', '__proto__', 'toString', 'constructor']) {
    const out = await ex.execute(run(name), ctx());
    assert.equal(out.ok, false);
    assert.deepEqual(out.data, { refused: true });
    assert.match(out.detail, new RegExp(`"${name}" is not in the local command table \\(known: echo, touch, fail, slow, loud\\); nothing run`));
  }
});

test('argv runs without a shell: metacharacters are plain arguments', async () => {
  const out = await ex.execute(run('echo'), ctx());
  assert.equal(out.ok, true, out.detail);
  assert.equal(out.data!.stdout, `a; touch ${marker} $HOME\n`);
  assert.equal(out.data!.exitCode, 0);
  assert.equal(existsSync(marker), false);
});

test('a non-zero exit is a failed outcome carrying the code and the output', async () => {
  const out = await ex.execute(run('fail'), ctx());
  assert.equal(out.ok, false);
  assert.equal(out.data!.exitCode, 4);
  assert.equal(out.data!.stderr, 'flush failed\n');
  assert.match(out.detail, /: exit 4$/);
});

test('a command that overruns the timeout is killed and reported as timed out', async () => {
  const out = await ex.execute(run('slow'), ctx());
  assert.equal(out.ok, false);
  assert.equal(out.data!.timedOut, true);
  assert.match(out.detail, /timed out after 300 ms \(killed\)/);
});

test('output is cut to its tail, and the cut is counted', async () => {
  const out = await ex.execute(run('loud'), ctx());
  const stdout = out.data!.stdout as string;
  assert.equal(stdout.length, COMMAND_OUTPUT_BYTES);
  assert.ok(stdout.endsWith('END'));
  assert.equal(out.data!.truncatedBytes, 10_003 - COMMAND_OUTPUT_BYTES);
});

test('dry-run says what it would run and runs nothing', async () => {
  const out = await ex.execute(run('touch'), ctx(true));
  assert.equal(out.ok, true);
  assert.equal(out.detail, `dry-run: would run ["touch",${JSON.stringify(marker)}]`);
  assert.equal(existsSync(marker), false);
  const real = await ex.execute(run('touch'), ctx());
  assert.equal(real.ok, true);
  assert.equal(existsSync(marker), true, 'the same command does run outside dry-run');
});

test('a timed-out sh -c takes its children with it (the whole process group is killed)', async () => {
  const r = await runArgv(['sh', '-c', 'sleep 300 & echo $!; wait'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  const grandchild = Number(r.stdout.trim());
  assert.ok(grandchild > 0, `got a pid: ${r.stdout}`);
  await waitFor(() => !isAlive(grandchild), 10_000, 'the backgrounded sleep is gone');
});

test('an aborted signal stops the command early', async () => {
  const ctl = new AbortController();
  const p = runArgv(['sleep', '30'], { timeoutMs: 20_000, signal: ctl.signal });
  setTimeout(() => ctl.abort(), 50);
  const r = await p;
  assert.deepEqual([r.cancelled, r.timedOut, r.signal], [true, false, 'SIGKILL']);
});

test('notify acts on nothing and succeeds', async () => {
  const out = await ex.execute({ type: 'notify', message: 'disk at 91%' }, ctx());
  assert.deepEqual(out, { ok: true, detail: 'notified: disk at 91%' });
  assert.deepEqual(await ex.targetState({ type: 'notify', message: 'x' }), { healthy: true, detail: 'notify has no target' });
});
