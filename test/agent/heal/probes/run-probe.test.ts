import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { runProbe } from '../../../../agent/heal/probes/run-probe.ts';
import { ProbeSchema } from '../../../../agent/heal/probes/schema.ts';
import { freePort } from '../../../support/ports.ts';

let server: Server;
let base = '';
const held = new Set<import('node:http').ServerResponse>();

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') return void res.writeHead(200).end('status: healthy');
    if (req.url === '/down') return void res.writeHead(503).end('status: unavailable');
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 200);
    if (req.url === '/never') return void held.add(res); // accepts, reads the request, never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const http = (extra: Record<string, unknown>) => ProbeSchema.parse({ name: 'web', kind: 'http', intervalSec: 5, timeoutMs: 2000, ...extra });

test('http: a 200 whose body matches is a success with a measured latency', async () => {
  const r = await runProbe(http({ url: `${base}/ok`, bodyMatch: 'heal+thy' }));
  assert.equal(r.ok, true, r.detail);
  assert.match(r.detail, /^HTTP 200/);
  assert.ok(r.latencyMs > 0);
});

test('http: a status outside the expected range fails and says which', async () => {
  const r = await runProbe(http({ url: `${base}/down` }));
  assert.equal(r.ok, false);
  assert.equal(r.detail, 'HTTP 503, expected 200-399');
  const exact = await runProbe(http({ url: `${base}/ok`, expectStatus: 204 }));
  assert.equal(exact.ok, false);
  assert.equal(exact.detail, 'HTTP 200, expected 204');
});

test('http: a body that does not match fails even with status 200', async () => {
  const r = await runProbe(http({ url: `${base}/ok`, bodyMatch: '^ready$' }));
  assert.equal(r.ok, false);
  assert.match(r.detail, /body does not match/);
});

test('http: an answer slower than maxLatencyMs fails (the server waits 200 ms, the limit is 1 ms)', async () => {
  const r = await runProbe(http({ url: `${base}/slow`, maxLatencyMs: 1 }));
  assert.equal(r.ok, false);
  assert.match(r.detail, /slower than maxLatencyMs 1/);
});

test('http: a server that accepts and never answers times out', async () => {
  const r = await runProbe(http({ url: `${base}/never`, timeoutMs: 300 }));
  assert.equal(r.ok, false);
  assert.equal(r.detail, 'timed out after 300 ms (no complete answer)');
  assert.ok(held.size >= 1, 'the request reached the server');
});

test('http: a closed port is reported as connection refused', async () => {
  const port = await freePort();
  const r = await runProbe(http({ url: `http://127.0.0.1:${port}/` }));
  assert.equal(r.ok, false);
  assert.equal(r.detail, 'connection refused');
});

test('http: an external abort cancels the probe', async () => {
  const ctl = new AbortController();
  const p = runProbe(http({ url: `${base}/never`, timeoutMs: 1500 }), ctl.signal);
  setTimeout(() => ctl.abort(), 50);
  const r = await p;
  assert.equal(r.ok, false);
  assert.equal(r.detail, 'cancelled');
});

test('tcp: a listening port connects; a closed one is refused', async () => {
  const srv = createTcpServer((s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (srv.address() as AddressInfo).port;
    const ok = await runProbe(ProbeSchema.parse({ name: 't', kind: 'tcp', host: '127.0.0.1', port }));
    assert.equal(ok.ok, true, ok.detail);
    const closed = await freePort();
    const bad = await runProbe(ProbeSchema.parse({ name: 't', kind: 'tcp', host: '127.0.0.1', port: closed }));
    assert.equal(bad.ok, false);
    assert.equal(bad.detail, `connection refused by 127.0.0.1:${closed}`);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

const cmd = (argv: string[], extra: Record<string, unknown> = {}) => ProbeSchema.parse({ name: 'c', kind: 'command', argv, ...extra });

test('command: the exit code decides, and a failure quotes what the program said', async () => {
  const three = [process.execPath, '-e', 'console.error("disk not mounted"); process.exit(3)'];
  const ok = await runProbe(cmd(three, { expectExit: 3 }));
  assert.equal(ok.ok, true, ok.detail);
  const bad = await runProbe(cmd(three));
  assert.equal(bad.ok, false);
  assert.equal(bad.detail, 'exit 3, expected 0: disk not mounted');
});

test('command: a program that overruns its timeout is killed and fails', async () => {
  const r = await runProbe(cmd(['sleep', '30'], { timeoutMs: 200 }));
  assert.equal(r.ok, false);
  assert.equal(r.detail, 'timed out after 200 ms (killed)');
});

test('command: a program that does not exist fails with a reason, not a throw', async () => {
  const r = await runProbe(cmd(['/nonexistent/homeostat-probe']));
  assert.equal(r.ok, false);
  assert.match(r.detail, /cannot run .*ENOENT/);
});
