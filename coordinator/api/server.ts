import Fastify, { type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { AgentIdSchema, CohortSchema } from '../../shared/protocol/ids.ts';
import type { CmdBody, FleetControlBody, ReplyBody } from '../../shared/protocol/messages.ts';
import { STRATEGY_NAMES } from '../federation/config.ts';
import { RoundRefused, type Rounds } from '../federation/rounds.ts';
import { PolicyPushError, type PolicyDistribution } from '../policy/distribution.ts';
import type { CoordinatorStore } from '../store/store.ts';

export interface ApiDeps {
  store: CoordinatorStore;
  counters: Counters;
  log: Logger;
  adminToken: string;
  brokerConnected: () => boolean;
  cmd: (agentId: string, body: CmdBody) => Promise<ReplyBody>;
  fleetControl: () => FleetControlBody;
  setPaused: (paused: boolean, by: string, reason: string) => Promise<FleetControlBody>;
  /** Policy push and history; absent in API tests that do not exercise it (the routes then do not exist). */
  policies?: PolicyDistribution;
  /** Federated rounds; absent in API tests that do not exercise them (the routes then do not exist). */
  federation?: Rounds;
}

const ApprovalSchema = z.strictObject({ approved: z.boolean(), by: z.string().min(1).max(128).default('admin') });
const ResetSchema = z.strictObject({ ruleId: z.string().min(1).max(64).optional(), by: z.string().min(1).max(128).default('admin') });
const PauseSchema = z.strictObject({ reason: z.string().max(500).default(''), by: z.string().min(1).max(128).default('admin') });

function badBody(e: z.ZodError): { error: string } {
  return { error: e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
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

  /** Sends a command and maps its fate to HTTP: unknown agent 404, no answer 504, refused 409. */
  const command = async (id: string, body: CmdBody, reply: { code: (n: number) => { send: (b: unknown) => unknown } }) => {
    if (!d.store.hasAgent(id)) return reply.code(404).send({ error: `no agent "${id}" in the registry` });
    try {
      const r = await d.cmd(id, body);
      return r.ok ? r : reply.code(409).send(r);
    } catch (e) {
      return reply.code(504).send({ error: (e as Error).message });
    }
  };

  app.post('/api/agents/:id/ping', async (req, reply) => command((req.params as { id: string }).id, { command: 'ping' }, reply));

  /** Answer to a heal approval request (`corr` from the approval event). */
  app.post('/api/agents/:id/approvals/:corr', async (req, reply) => {
    const { id, corr } = req.params as { id: string; corr: string };
    const b = ApprovalSchema.safeParse(req.body ?? {});
    if (!b.success) return reply.code(400).send(badBody(b.error));
    return command(id, { command: 'approve', corr, approved: b.data.approved, by: b.data.by }, reply);
  });

  /** The human's "try again" after an escalation: clears escalation, breaker and counters. */
  app.post('/api/agents/:id/heal/reset', async (req, reply) => {
    const b = ResetSchema.safeParse(req.body ?? {});
    if (!b.success) return reply.code(400).send(badBody(b.error));
    return command((req.params as { id: string }).id, { command: 'heal_reset', by: b.data.by, ...(b.data.ruleId ? { ruleId: b.data.ruleId } : {}) }, reply);
  });

  app.get('/api/fleet/control', async () => d.fleetControl());

  for (const [path, paused] of [['/api/fleet/pause', true], ['/api/fleet/resume', false]] as const) {
    app.post(path, async (req, reply) => {
      const b = PauseSchema.safeParse(req.body ?? {});
      if (!b.success) return reply.code(400).send(badBody(b.error));
      return d.setPaused(paused, b.data.by, b.data.reason);
    });
  }

  const policies = d.policies;
  if (policies) {
    /** Push a heal policy: 400 naming rule and field when invalid, 201 once published, 202 when stored but the broker did not take it. */
    app.post('/api/policies', async (req, reply) => {
      try {
        const r = await policies.push((req.body ?? {}) as Parameters<PolicyDistribution['push']>[0]);
        return reply.code(r.published ? 201 : 202).send({ ...r.record, published: r.published, ...(r.published ? {} : { error: r.error }) });
      } catch (e) {
        if (e instanceof PolicyPushError) return reply.code(400).send({ error: e.message, problems: e.problems });
        throw e;
      }
    });

    app.get('/api/policies', async (req, reply) => {
      const q = z.strictObject({ cohort: CohortSchema.optional() }).safeParse(req.query);
      if (!q.success) return reply.code(400).send(badBody(q.error));
      return policies.store.history(q.data.cohort);
    });

    app.get('/api/policies/:version', async (req, reply) => {
      const { version } = req.params as { version: string };
      const n = /^[1-9][0-9]{0,15}$/.test(version) ? Number(version) : NaN;
      if (!Number.isSafeInteger(n)) return reply.code(400).send({ error: `policy version "${version}": a positive whole number` });
      const r = policies.store.get(n);
      return r ?? reply.code(404).send({ error: `no policy version ${n} (GET /api/policies lists them)` });
    });
  }

  const federation = d.federation;
  if (federation) {
    /** Opens a round now: 201 with the round, 409 when one is open or too few agents are online. */
    app.post('/api/federation/rounds', async (req, reply) => {
      const b = z.strictObject({ strategy: z.enum(STRATEGY_NAMES).optional() }).safeParse(req.body ?? {});
      if (!b.success) return reply.code(400).send(badBody(b.error));
      try {
        return reply.code(201).send(await federation.startRound(b.data.strategy ? { strategy: b.data.strategy } : {}));
      } catch (e) {
        if (e instanceof RoundRefused) return reply.code(409).send({ error: e.message });
        throw e;
      }
    });

    app.get('/api/federation/rounds', async (req, reply) => {
      const q = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(50) }).safeParse(req.query);
      if (!q.success) return reply.code(400).send(badBody(q.error));
      return federation.store.rounds(q.data.limit);
    });

    /** One round with the updates it accepted (sizes, not contents) and the ones it refused, each with why. */
    app.get('/api/federation/rounds/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      const r = federation.store.round(id);
      if (!r) return reply.code(404).send({ error: `no round "${id}" (GET /api/federation/rounds lists them)` });
      const updates = federation.store.updateInfo(id);
      return { ...r, updates, rejections: federation.store.rejections(id) };
    });

    app.get('/api/federation/model', async () => {
      const { onnx, model: _m, meta: _meta, ...m } = federation.models.current();
      return { ...m, bytes: onnx.byteLength };
    });
  }

  return app;
}
