import Fastify, { type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { AgentIdSchema } from '../../shared/protocol/ids.ts';
import type { ReplyBody } from '../../shared/protocol/messages.ts';
import type { CoordinatorStore } from '../store/store.ts';

export interface ApiDeps {
  store: CoordinatorStore;
  counters: Counters;
  log: Logger;
  adminToken: string;
  brokerConnected: () => boolean;
  ping: (agentId: string) => Promise<ReplyBody>;
}

const EventsQuerySchema = z.strictObject({
  agent: AgentIdSchema.optional(),
  since: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (!Number.isFinite(n)) {
        ctx.addIssue({ code: 'custom', message: 'milliseconds since the epoch, or an ISO 8601 date' });
        return z.NEVER;
      }
      return n;
    }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

function tokenMatches(req: FastifyRequest, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * The HTTP API. Reads are open from loopback (the operator on the box, the terminal view) and
 * need the admin token from anywhere else; admin actions always need it.
 */
export function buildApi(d: ApiDeps) {
  const app = Fastify({ loggerInstance: d.log, bodyLimit: 64 * 1024 });
  // Request lines at info would log every poll of the live view; keep them for warn and up.
  app.addHook('onRoute', (route) => {
    route.logLevel = route.logLevel ?? 'warn';
  });

  app.addHook('onRequest', async (req, reply) => {
    const admin = req.method !== 'GET' && req.method !== 'HEAD';
    if (req.url === '/healthz') return;
    if ((admin || !isLoopback(req.ip)) && !tokenMatches(req, d.adminToken)) {
      return reply.code(401).send({ error: admin ? 'admin endpoints need "Authorization: Bearer <admin token>"' : 'reads from outside loopback need "Authorization: Bearer <admin token>"' });
    }
  });

  app.get('/healthz', async (_req, reply) => {
    let db = true;
    try {
      d.store.db.prepare('SELECT 1').get();
    } catch {
      db = false;
    }
    const broker = d.brokerConnected();
    return reply.code(db && broker ? 200 : 503).send({ ok: db && broker, broker, db });
  });

  app.get('/api/agents', async () => d.store.agents());

  app.get('/api/agents/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const a = d.store.agent(id);
    if (!a) return reply.code(404).send({ error: `no agent "${id}" in the registry` });
    return { ...a, events: d.store.eventCount(id) };
  });

  app.get('/api/events', async (req, reply) => {
    const q = EventsQuerySchema.safeParse(req.query);
    if (!q.success) {
      const i = q.error.issues[0]!;
      return reply.code(400).send({ error: `query ${i.path.join('.') || '(parameters)'}: ${i.message}` });
    }
    return d.store.events(q.data);
  });

  app.get('/api/counters', async () => d.counters.snapshot());

  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(d.counters.prometheus()));

  app.post('/api/agents/:id/ping', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!d.store.hasAgent(id)) return reply.code(404).send({ error: `no agent "${id}" in the registry` });
    try {
      return await d.ping(id);
    } catch (e) {
      return reply.code(504).send({ error: (e as Error).message });
    }
  });

  return app;
}
