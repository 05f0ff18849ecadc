import { Command, Option } from 'commander';
import { join } from 'node:path';
import { Agent } from '../agent/agent.ts';
import { registerAgentCommands } from './agent-commands.ts';
import { registerChaosCommand } from './chaos-command.ts';
import { registerCoordinatorCommands } from './coordinator-commands.ts';
import { registerRoundCommands } from './round-commands.ts';
import { stopOnSignals, type Stoppable } from './signals.ts';
import { loadAgentConfig } from '../agent/config.ts';
import { loadCoordinatorConfig } from '../coordinator/config.ts';
import { Coordinator } from '../coordinator/coordinator.ts';
import { createLogger } from '../shared/observe/log.ts';
import { HOMEOSTAT_VERSION } from '../shared/version.ts';
import { evalCommand } from '../models/eval/cli.ts';
import { fail } from './fail.ts';
import { startFleetView } from './fleet-view.ts';

const program = new Command()
  .name('homeostat')
  .description('Edge agents that sample their host and report over MQTT to a coordinator that keeps the fleet registry and events.')
  .version(HOMEOSTAT_VERSION)
  .showHelpAfterError('(add --help for usage)');

program
  .command('start')
  .description('run a coordinator with its embedded broker and one agent on this host, with a live fleet view (the quick start)')
  .option('--data-dir <dir>', 'where both keep their state', './.homeostat')
  .addOption(new Option('--mqtt-port <port>', 'embedded broker port').default(1884).argParser(Number))
  .addOption(new Option('--api-port <port>', 'HTTP API port').default(8787).argParser(Number))
  .action(async (o: { dataDir: string; mqttPort: number; apiPort: number }) => {
    const log = createLogger('homeostat', process.env.HOMEOSTAT_LOG_LEVEL ?? 'warn', 2);
    const parts: Stoppable[] = [];
    try {
      const cc = loadCoordinatorConfig(undefined, {
        dataDir: join(o.dataDir, 'coordinator'),
        broker: { embedded: { host: '127.0.0.1', port: o.mqttPort } },
        api: { host: '127.0.0.1', port: o.apiPort },
      });
      let tokenLine = '';
      const coordinator = new Coordinator(cc, { log: log.child({ part: 'coordinator' }), announceToken: (line) => (tokenLine = line) });
      await coordinator.start();
      parts.push(coordinator);
      // The local agent trusts this coordinator's key: out of the box, signed policies and commands just work.
      const ac = loadAgentConfig(undefined, { dataDir: join(o.dataDir, 'agent'), broker: { url: coordinator.brokerUrl }, fleet: { publicKey: coordinator.keys.publicKeyText } });
      const agent = new Agent(ac, { log: log.child({ part: 'agent' }) });
      await agent.start();
      parts.push(agent);
      const intro = [
        `Homeostat ${HOMEOSTAT_VERSION}: coordinator and one agent (${agent.id}) running`,
        `  API     ${coordinator.apiAddress}   (try: curl ${coordinator.apiAddress}/api/agents)`,
        `  broker  ${coordinator.brokerUrl}`,
        `  data    ${o.dataDir}`,
        ...(tokenLine ? [`  ${tokenLine}`] : []),
      ].join('\n');
      const stopView = startFleetView(coordinator.apiAddress, intro);
      stopOnSignals(parts, stopView);
    } catch (e) {
      for (const p of parts.reverse()) await p.stop().catch(() => undefined);
      fail(e);
    }
  });

const coordinatorCommand = program.command('coordinator').description('the coordinator (runs it by default; see subcommands: key, policy, round)');
registerCoordinatorCommands(coordinatorCommand);
registerRoundCommands(coordinatorCommand);

registerAgentCommands(program.command('agent').description('the edge agent (runs it by default; see subcommands)'));

program
  .command('eval')
  .description('measure detection on labelled data in the SMD layout: best-F1, PA-F1, F1 at a train-only threshold, explanation hit rate; baselines side by side')
  .requiredOption('--data <dir>', 'SMD folder (train/, test/, test_label/, interpretation_label/), e.g. ../shared/datasets/smd')
  .option('--machines <names...>', 'only these machines (default: every machine in test/)')
  .option('--json', 'print one JSON document on stdout (progress stays on stderr)')
  .option('--out <dir>', 'where the report, JSON and SVG plot go', './eval-out')
  .addOption(new Option('--max-rows <n>', 'truncate each split (quick runs)').argParser(Number))
  .action(async (o: { data: string; machines?: string[]; json?: boolean; out: string; maxRows?: number }) => {
    try {
      await evalCommand(o);
    } catch (e) {
      fail(e);
    }
  });

registerChaosCommand(program);

program.parseAsync().catch(fail);
