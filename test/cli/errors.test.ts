import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import { cli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-cli-'));


/** The failure is one `homeostat: …` line on stderr, with no stack trace. */
function assertOneLine(stderr: string, re: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.trim() && !l.includes('ExperimentalWarning') && !l.includes('--trace-warnings'));
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.match(lines[0]!, /^homeostat: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

let blocker: Server;
let busyPort: number;
before(async () => {
  blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  busyPort = (blocker.address() as { port: number }).port;
});
after(() => blocker.close());

test('a broken config file names the field and exits 1', async () => {
  const f = join(dir, 'agent.yaml');
  writeFileSync(f, 'sampling:\n  intervalMs: fast\n');
  const r = await cli(['agent', '-c', f]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /sampling\.intervalMs: .*expected number/);
});

test('a config with unparseable YAML says so', async () => {
  const f = join(dir, 'coord.yaml');
  writeFileSync(f, 'api: [port: 1\n');
  const r = await cli(['coordinator', '-c', f]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /not valid YAML\/JSON/);
});

test('an unreachable external broker at start says to start it or fix broker.url, exits 1', async () => {
  const port = await freePort();
  const r = await cli(['coordinator', '--broker-url', `mqtt://127.0.0.1:${port}`, '--api-port', '0', '-c', writeCfg('c1')]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, new RegExp(`cannot reach the MQTT broker at mqtt://127.0.0.1:${port}.*start it, or fix broker.url`));
});

test('an MQTT port in use says which and what to do, exits 1', async () => {
  const r = await cli(['coordinator', '--mqtt-port', String(busyPort), '--api-port', '0', '-c', writeCfg('c2')]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, new RegExp(`MQTT port ${busyPort} on 127.0.0.1 is in use: stop what holds it, or set broker.embedded.port`));
});

test('an HTTP port in use says which and what to do, exits 1', async () => {
  const r = await cli(['coordinator', '--mqtt-port', '0', '--api-port', String(busyPort), '-c', writeCfg('c3')]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, new RegExp(`HTTP port ${busyPort} on 127.0.0.1 is in use: stop what holds it, or set api.port`));
});

test('a corrupt agent database says how to recover, exits 1', async () => {
  const data = join(dir, 'agent-corrupt');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'agent.db'), 'garbage '.repeat(1000));
  const r = await cli(['agent', '--data-dir', data]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /agent\.db is not a usable Homeostat agent database .*move it aside \(mv /);
});

test('an agent whose broker is down keeps running (store-and-forward) and stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const p = spawn(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'agent', '--broker-url', `mqtt://127.0.0.1:${port}`, '--data-dir', join(dir, 'agent-offline')], {
    env: { ...process.env, HOMEOSTAT_LOG_LEVEL: 'silent' },
  });
  await waitFor(() => existsSync(join(dir, 'agent-offline', 'agent.db')), 20_000, 'the agent opened its store');
  assert.equal(p.exitCode, null, 'still running without a broker');
  p.kill('SIGTERM');
  const code = await new Promise((r) => p.once('exit', r));
  assert.equal(code, 0);
});

test('--help reads well: every command is listed with a description', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['start', 'coordinator', 'agent']) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b.*\\S`));
});

function writeCfg(name: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, `dataDir: ${join(dir, name)}\n`);
  return f;
}

test('homeostat chaos runs a real, self-stopping fault and reports it; bad options get one line', async () => {
  const ok = await cli(['chaos', 'cpu', '--duration', '1s']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^chaos cpu: burned 1 core\(s\) for up to 1000 ms \(pids \d+\)/);
  const bad = await cli(['chaos', 'memory', '--duration', '1s']);
  assert.equal(bad.code, 1);
  assertOneLine(bad.stderr, /chaos memory: mb: /);
  const unknown = await cli(['chaos', 'flood']);
  assert.equal(unknown.code, 1);
  assertOneLine(unknown.stderr, /unknown kind "flood"/);
});
