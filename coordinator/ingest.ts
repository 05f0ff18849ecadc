import type { Counters } from '../shared/observe/counters.ts';
import type { Logger } from '../shared/observe/log.ts';
import type { EventBody } from '../shared/protocol/messages.ts';
import type { Router } from '../shared/protocol/router.ts';
import type { CoordinatorConfig } from './config.ts';
import type { CoordinatorStore } from './store/store.ts';

export const INGEST_METRICS = {
  stored: 'homeostat_ingest_stored_total',
  duplicates: 'homeostat_ingest_duplicates_total',
  online: 'homeostat_agents_online',
  known: 'homeostat_agents_known',
} as const;

/**
 * Registry and ingest: the handlers that turn validated agent messages into rows. Handlers
 * run before the PUBACK (see MqttConnection.onMessage), so "acknowledged" means "stored".
 */
export function registerIngest(
  router: Router,
  store: CoordinatorStore,
  enrolment: CoordinatorConfig['enrolment'],
  counters: Counters,
  log: Logger,
  o: { now?: () => number; onEvent?: (agentId: string, body: EventBody) => void } = {},
): void {
  const now = o.now ?? Date.now;
  counters.define(INGEST_METRICS.stored, 'Agent messages stored, by kind');
  counters.define(INGEST_METRICS.duplicates, 'Agent messages already stored (redeliveries), by kind');
  counters.define(INGEST_METRICS.online, 'Agents whose last status is online', 'gauge');
  counters.define(INGEST_METRICS.known, 'Agents in the registry', 'gauge');

  const allowed = new Set(enrolment.agents);
  // Open enrolment admits any well-formed id: an agent's first event must not be lost because its
  // status arrived second. The allowlist is the closed alternative.
  router.admit = (key, id) => {
    if (enrolment.mode === 'allowlist' && key !== 'coordinatorStatus' && id !== undefined && !allowed.has(id)) {
      return { ok: false, reason: 'unknown_agent', detail: `agent "${id}" is not on enrolment.agents` };
    }
    return { ok: true };
  };

  const refreshGauges = () => {
    const all = store.agents();
    counters.set(INGEST_METRICS.online, all.filter((a) => a.state === 'online').length);
    counters.set(INGEST_METRICS.known, all.length);
  };
  refreshGauges();

  const count = (kind: string, fresh: boolean) => counters.inc(fresh ? INGEST_METRICS.stored : INGEST_METRICS.duplicates, { kind });

  router.on('status', (msg, ctx) => {
    store.applyStatus(ctx.id!, Math.max(msg.ts, 0), msg.body);
    refreshGauges();
    log.info({ agent: ctx.id, state: msg.body.state, reason: msg.body.reason, retained: ctx.retained }, 'agent status');
  });
  router.on('telemetry', (msg, ctx) => {
    count('telemetry', store.addTelemetry(msg.id, ctx.id!, msg.ts, msg.body));
  });
  router.on('events', (msg, ctx) => {
    const fresh = store.addEvent(msg.id, ctx.id!, msg.corr, msg.ts, msg.body, now());
    count('event', fresh);
    if (!fresh) return;
    log.info({ agent: ctx.id, type: msg.body.type, severity: msg.body.severity, corr: msg.corr }, msg.body.summary);
    o.onEvent?.(ctx.id!, msg.body);
  });
}
