// Entry of the edge bundle (dist/homeostat-agent.mjs): the agent without the coordinator's
// broker and HTTP server, so what a node ships and runs is only what it needs.
import { Command } from 'commander';
import { HOMEOSTAT_VERSION } from '../shared/version.ts';
import { fail } from './fail.ts';
import { registerAgentCommands } from './agent-commands.ts';

const program = new Command().name('homeostat-agent').description('Homeostat edge agent').version(HOMEOSTAT_VERSION).showHelpAfterError('(add --help for usage)');
registerAgentCommands(program);
program.parseAsync().catch(fail);
