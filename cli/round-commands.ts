import { Option, type Command } from 'commander';
import { STRATEGY_NAMES } from '../coordinator/federation/config.ts';
import type { RoundRecord } from '../coordinator/federation/round-store.ts';
import { apiCall, resolveApiTarget, type ApiTargetOptions } from './coordinator-api.ts';
import { withApiOptions } from './coordinator-commands.ts';
import { UsageError, fail } from './fail.ts';

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** One line per round, newest first: what it was, how it ended and why. */
export function formatRounds(rounds: RoundRecord[]): string {
  if (rounds.length === 0) return 'no rounds yet (start one: homeostat coordinator round start)';
  return rounds
    .map((r) => {
      const s = r.summary;
      const counts = s ? `${s.used.length}/${r.announce.sampled.length} used, ${s.failures.length} failed, ${s.rejected.length} rejected` : `${r.announce.sampled.length} sampled`;
      const model = r.modelVersion !== null ? ` → model v${r.modelVersion}` : '';
      const end = r.state === 'open' ? `open until ${when(r.deadline)}` : `${r.outcome}${model}`;
      return `${r.id}  ${when(r.openedAt)}  ${r.announce.strategy}  ${counts}  ${end}${r.note ? `\n    ${r.note}` : ''}`;
    })
    .join('\n');
}

/** `homeostat coordinator round …`: start a federated round now, list the rounds. */
export function registerRoundCommands(parent: Command): void {
  const round = parent.command('round').description('federated rounds: start one now, list them (docs/federation.md)');

  withApiOptions(round.command('start'))
    .description('open a federated round now: sample online agents, announce it (signed, retained), aggregate at the deadline')
    .addOption(new Option('--strategy <name>', 'the aggregation for this round (default: federation.strategy)').choices([...STRATEGY_NAMES]))
    .option('--json', 'print JSON')
    .action(async (o: ApiTargetOptions & { strategy?: string; json?: boolean }) => {
      try {
        const r = await apiCall<RoundRecord & { error?: string }>(resolveApiTarget(o), 'POST', '/api/federation/rounds', o.strategy ? { strategy: o.strategy } : {});
        if (r.status === 409) throw new UsageError(`round not started: ${r.body.error}`);
        if (r.status !== 201) throw new UsageError(`round start failed: ${r.status} ${JSON.stringify(r.body)}`);
        const a = r.body.announce;
        process.stdout.write(
          o.json
            ? `${JSON.stringify(r.body, null, 2)}\n`
            : `round ${a.roundId} open: ${a.sampled.length} agent(s) sampled (${a.sampled.join(', ')}), ${a.strategy} from model v${a.baseVersion}, deadline ${when(a.deadline)}\n`,
        );
      } catch (e) {
        fail(e);
      }
    });

  withApiOptions(round.command('list'))
    .description('the latest rounds, newest first: strategy, participation, outcome and why')
    .addOption(new Option('--limit <n>', 'how many').argParser(Number).default(20))
    .option('--json', 'print JSON')
    .action(async (o: ApiTargetOptions & { limit: number; json?: boolean }) => {
      try {
        const r = await apiCall<RoundRecord[]>(resolveApiTarget(o), 'GET', `/api/federation/rounds?limit=${o.limit}`);
        if (r.status !== 200) throw new UsageError(`round list failed: ${r.status} ${JSON.stringify(r.body)}`);
        process.stdout.write(o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatRounds(r.body)}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
