import { Option, type Command } from 'commander';
import { ChaosKindSchema, ChaosOptionSchemas, parseDuration, type ChaosKind } from '../agent/chaos/options.ts';
import { runChaos } from '../agent/chaos/run-chaos.ts';
import { UsageError, fail } from './fail.ts';

interface ChaosFlags {
  duration: string;
  cores?: number;
  mb?: number;
  dir?: string;
  rate?: number;
  keep?: boolean;
  pidfile?: string;
  flagFile?: string;
}

function optionsFor(kind: ChaosKind, o: ChaosFlags): unknown {
  const durationMs = parseDuration(o.duration);
  switch (kind) {
    case 'cpu':
      return { durationMs, cores: o.cores };
    case 'memory':
      return { durationMs, mb: o.mb };
    case 'disk':
      return { durationMs, dir: o.dir, mb: o.mb, rateMbPerSec: o.rate, keep: o.keep };
    case 'kill':
      return { pidfile: o.pidfile };
    case 'hang':
      return { durationMs, pidfile: o.pidfile, flagFile: o.flagFile };
  }
}

/** `homeostat chaos KIND`: a real, bounded, self-stopping fault, for tests and demos. */
export function registerChaosCommand(program: Command): void {
  program
    .command('chaos')
    .description('inject a real, bounded, self-stopping fault: cpu | memory | disk | kill | hang')
    .argument('<kind>', 'cpu (burn cores), memory (balloon), disk (fill a directory), kill (SIGKILL a managed service), hang (demo service stops answering)')
    .option('--duration <time>', 'how long the fault lasts (e.g. 30s, 2m); it always ends by itself', '30s')
    .addOption(new Option('--cores <n>', 'cpu: cores to burn').argParser(Number))
    .addOption(new Option('--mb <n>', 'memory/disk: megabytes').argParser(Number))
    .option('--dir <path>', 'disk: directory to fill')
    .addOption(new Option('--rate <mb/s>', 'disk: write speed').argParser(Number))
    .option('--keep', 'disk: leave the files when the fault ends')
    .option('--pidfile <file>', 'kill/hang: the service pidfile')
    .option('--flag-file <file>', "hang: the demo service's --hang-flag file")
    .action(async (kindArg: string, o: ChaosFlags) => {
      try {
        const kind = ChaosKindSchema.safeParse(kindArg);
        if (!kind.success) throw new UsageError(`chaos: unknown kind "${kindArg}": use cpu, memory, disk, kill or hang`);
        const parsed = ChaosOptionSchemas[kind.data].safeParse(optionsFor(kind.data, o));
        if (!parsed.success) {
          const i = parsed.error.issues[0]!;
          throw new UsageError(`chaos ${kind.data}: ${i.path.join('.') || 'options'}: ${i.message}`);
        }
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        const report = await runChaos(kind.data, parsed.data as never, abort.signal);
        process.stdout.write(`chaos ${report.kind}: ${report.detail}\n`);
      } catch (e) {
        fail(e instanceof Error && !(e instanceof UsageError) && /^(duration|chaos)/.test(e.message) ? new UsageError(e.message) : e);
      }
    });
}
