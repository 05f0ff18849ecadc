import type { Command } from 'commander';
import { Agent } from '../agent/agent.ts';
import { loadAgentConfig } from '../agent/config.ts';
import { fail } from './fail.ts';
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
}
