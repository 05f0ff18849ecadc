import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DockerServiceAdapter } from '../../../../agent/heal/services/docker-service.ts';
import { DockerServiceSchema } from '../../../../agent/heal/services/schema.ts';
import { ServiceCommandError, ServiceUnavailableError } from '../../../../agent/heal/services/service.ts';

/*
 * What these tests prove: the adapter speaks HTTP over a real unix socket, builds the Engine API
 * requests (method, path, restart timeout) and reads the answers (state, pid, 404, errors,
 * timeouts). The engine is a fake that answers like the documented API: they do not prove
 * compatibility with a real dockerd, which this machine does not run.
 */

let dir = '';
let sock = '';
let engine: Server;
const requests: string[] = [];
const hung: ServerResponse[] = [];
let running = true;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-docker-'));
  sock = join(dir, 'docker.sock');
  engine = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} host=${req.headers.host}`);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const m = /^\/containers\/([^/]+)\/(json|restart|start|stop)/.exec(req.url ?? '');
    if (!m) return json(404, { message: 'page not found' });
    const [, id, verb] = m;
    if (id === 'slow') return void hung.push(res);
    if (id !== 'web') return json(404, { message: `No such container: ${id}` });
    if (verb === 'json') return json(200, { Id: 'abc', State: running ? { Status: 'running', Running: true, Pid: 777, Health: { Status: 'healthy' } } : { Status: 'exited', Running: false, Pid: 0 } });
    if (verb === 'stop') running = false;
    else running = true;
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => engine.listen(sock, () => r()));
});

after(async () => {
  for (const r of hung) r.destroy();
  engine.closeAllConnections();
  await new Promise((r) => engine.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const decl = (container: string, extra: Record<string, unknown> = {}) => DockerServiceSchema.parse({ name: 'web', kind: 'docker', container, socketPath: sock, stopTimeoutSec: 7, ...extra });

test('on this host, the adapter says "Docker engine not available" exactly when the default socket is missing', async () => {
  const svc = new DockerServiceAdapter(DockerServiceSchema.parse({ name: 'web', kind: 'docker', container: 'web' }));
  if (existsSync('/var/run/docker.sock')) {
    // A real engine: whatever it answers, it is not "no socket".
    await svc.status().then(
      () => undefined,
      (e: Error) => assert.doesNotMatch(e.message, /no unix socket/),
    );
  } else {
    await assert.rejects(svc.status(), (e: Error) => e instanceof ServiceUnavailableError && /Docker engine not available: no unix socket at \/var\/run\/docker.sock/.test(e.message));
    await assert.rejects(svc.restart(), ServiceUnavailableError);
  }
});

test('a socket path that is a plain file is not an engine', async () => {
  const file = join(dir, 'not-a-socket');
  writeFileSync(file, '');
  await assert.rejects(new DockerServiceAdapter(decl('web', { socketPath: file })).status(), ServiceUnavailableError);
});

test('status: GET /containers/{id}/json over the socket, state and pid read from the answer', async () => {
  requests.length = 0;
  running = true;
  const s = await new DockerServiceAdapter(decl('web')).status();
  assert.deepEqual(s, { running: true, pid: 777, detail: 'container web is running, health healthy' });
  assert.deepEqual(requests, ['GET /containers/web/json host=docker']);
});

test('restart: POST /containers/{id}/restart?t=<stopTimeoutSec>, then the new state', async () => {
  requests.length = 0;
  running = false;
  const svc = new DockerServiceAdapter(decl('web'));
  const r = await svc.restart();
  assert.deepEqual(r, { running: true, pid: 777, detail: 'container web is running, health healthy' });
  assert.deepEqual(requests, ['GET /containers/web/json host=docker', 'POST /containers/web/restart?t=7 host=docker', 'GET /containers/web/json host=docker']);
  requests.length = 0;
  const stopped = await svc.stop();
  assert.equal(stopped.running, false);
  assert.deepEqual(requests, ['POST /containers/web/stop?t=7 host=docker', 'GET /containers/web/json host=docker']);
});

test('an unknown container: status says so, restart fails with the engine\'s message', async () => {
  const svc = new DockerServiceAdapter(decl('ghost'));
  assert.deepEqual(await svc.status(), { running: false, detail: 'no such container "ghost"' });
  await assert.rejects(svc.start(), (e: Error) => e instanceof ServiceCommandError && /docker start ghost: engine answered 404: No such container: ghost: check the container name/.test(e.message));
});

test('an engine that never answers is cut off at timeoutMs', async () => {
  const svc = new DockerServiceAdapter(decl('slow', { timeoutMs: 200 }));
  await assert.rejects(svc.status(), (e: Error) => e instanceof ServiceCommandError && /no answer within 200 ms/.test(e.message));
});
