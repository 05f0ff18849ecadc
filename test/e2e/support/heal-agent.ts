import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../agent/agent.ts';
import { loadAgentConfig } from '../../../agent/config.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import { freePort } from '../../support/ports.ts';
import { waitFor } from '../../support/wait.ts';

export interface HealAgent {
  agent: Agent;
  dir: string;
  decisions(kind?: string): Array<{ ts: number; kind: string; record: Record<string, unknown> }>;
  waitDecision(kind: string, timeoutMs: number, what?: (r: Record<string, unknown>) => boolean): Promise<{ ts: number; record: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/**
 * A real agent in this process (real sampler, real sqlite, real executor and child processes),
 * with detection off and its broker pointing at a closed port unless one is given: healing
 * needs no coordinator, and the outbox keeps every event for later.
 */
export async function startHealAgent(heal: Record<string, unknown>, o: { dir?: string; brokerUrl?: string; id?: string; fleetPublicKey?: string } = {}): Promise<HealAgent> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'heal-e2e-'));
  const brokerUrl = o.brokerUrl ?? `mqtt://127.0.0.1:${await freePort()}`;
  const config = loadAgentConfig(undefined, { id: o.id ?? 'heal-e2e', dataDir: join(dir, 'agent'), detect: { enabled: false }, broker: { url: brokerUrl, backoff: { initialMs: 200, maxMs: 1000 } }, fleet: { publicKey: o.fleetPublicKey }, heal });
  const agent = new Agent(config, { log: silentLogger });
  await agent.start();
  const decisions = (kind?: string) =>
    agent.store
      .auditSince(0)
      .filter((r) => !kind || r.kind === kind)
      .map((r) => ({ ts: r.ts, kind: r.kind, record: r.record as Record<string, unknown> }));
  return {
    agent,
    dir,
    decisions,
    async waitDecision(kind, timeoutMs, what = () => true) {
      let found: { ts: number; record: Record<string, unknown> } | undefined;
      await waitFor(
        () => {
          found = decisions(kind).find((d) => what(d.record));
          return found !== undefined;
        },
        timeoutMs,
        `a "${kind}" decision (so far: ${decisions().map((d) => d.kind).join(', ') || 'none'})`,
      );
      return found!;
    },
    async stop() {
      await agent.stop();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
