import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { formatAudit, parseSince } from '../agent/heal/audit-format.ts';
import { Agent } from '../agent/agent.ts';
import { loadAgentConfig } from '../agent/config.ts';
import { readAuditSince, type AuditRecord } from '../agent/store/store.ts';
import { UsageError, fail } from './fail.ts';
import { stopOnSignals } from './signals.ts';

/**
 * The agent's subcommands, under `homeostat agent` in the full CLI and at the top of the edge
 * bundle (`homeostat-agent [run]`).
 */
export function registerAgentCommands(parent: Command): void {
  parent
    .command('run', { isDefault: true })
    .description('run the agent: sample, store, and report to the coordinator')
    .option('-c, --config <file>', 'YAML or JSON config file (see docs/operations.md)')
    .option('--broker-url <url>', 'broker to connect to (default mqtt://127.0.0.1:1884)')
    .option('--data-dir <dir>', 'where the agent keeps its id and database (default ./.homeostat/agent)')
    .action(async (o: { config?: string; brokerUrl?: string; dataDir?: string }) => {
      try {
        const overrides: Record<string, unknown> = {};
        if (o.brokerUrl) overrides.broker = { url: o.brokerUrl };
        if (o.dataDir) overrides.dataDir = o.dataDir;
        const agent = new Agent(loadAgentConfig(o.config, overrides));
        stopOnSignals([agent]);
        await agent.start();
      } catch (e) {
        fail(e);
      }
    });

  parent
    .command('audit')
    .description('print what the agent decided and why (heal actions, skips by guard, escalations), oldest first')
    .option('-c, --config <file>', 'the agent config (to find its data directory)')
    .option('--data-dir <dir>', 'the agent data directory (default ./.homeostat/agent)')
    .option('--since <when>', 'a duration back from now (30m, 2h, 1d) or a date', '24h')
    .option('--corr <id>', 'only one episode (its correlation id, or the 8-character tag printed)')
    .option('--utc', 'print times in UTC instead of local time')
    .option('--json', 'one JSON object per line instead of text')
    .action((o: { config?: string; dataDir?: string; since: string; corr?: string; utc?: boolean; json?: boolean }) => {
      try {
        const dataDir = o.dataDir ?? loadAgentConfig(o.config).dataDir;
        const file = join(dataDir, 'agent.db');
        if (!existsSync(file)) throw new UsageError(`no agent database at ${file}: pass --data-dir or --config of the agent to read`);
        let since: number;
        try {
          since = parseSince(o.since);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        // Read-only: safe beside a running agent (WAL lets readers and the writer proceed together).
        const db = new Database(file, { readonly: true, fileMustExist: true });
        let rows: AuditRecord[];
        try {
          rows = readAuditSince(db, since);
        } finally {
          db.close();
        }
        if (o.corr) rows = rows.filter((r) => r.corr !== null && (r.corr === o.corr || r.corr.endsWith(o.corr!)));
        process.stdout.write(o.json ? rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '') : formatAudit(rows, { utc: o.utc ?? false }));
      } catch (e) {
        fail(e);
      }
    });
}
