import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { loadCoordinatorConfig } from '../coordinator/config.ts';
import { Coordinator } from '../coordinator/coordinator.ts';
import { loadOrCreateFleetKeys } from '../coordinator/keys.ts';
import { formatDiff } from '../coordinator/policy/diff.ts';
import type { PolicyRecord, PolicyVersion } from '../coordinator/policy/store.ts';
import { createLogger } from '../shared/observe/log.ts';
import { apiCall, resolveApiTarget, type ApiTargetOptions } from './coordinator-api.ts';
import { UsageError, fail } from './fail.ts';
import { stopOnSignals } from './signals.ts';

/** Options every command that talks to a running coordinator takes. */
export function withApiOptions(c: Command): Command {
  return c
    .option('-c, --config <file>', 'the coordinator config (for its API address, data directory and token)')
    .option('--data-dir <dir>', 'the coordinator data directory, where its admin-token file is (default ./.homeostat/coordinator)')
    .option('--api <url>', 'the coordinator API (default from the config: http://127.0.0.1:8787)')
    .option('--token <token>', 'admin token (default: HOMEOSTAT_ADMIN_TOKEN, the config, or <data-dir>/admin-token)');
}

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatHistory(versions: PolicyVersion[]): string {
  if (!versions.length) return '(no policy pushed yet: homeostat coordinator policy push FILE)';
  const changes = (v: PolicyVersion) => {
    const paths = v.diff.map((c) => `${c.op === 'added' ? '+' : c.op === 'removed' ? '-' : '~'}${c.path}`);
    const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, … ${paths.length - 3} more` : '');
    return `${v.diff.length}${paths.length ? ` (${shown})` : ''}`;
  };
  return table([['version', 'cohort', 'author', 'created', 'changes'], ...versions.map((v) => [`v${v.version}`, v.cohort, v.author, when(v.createdAt), changes(v)])]);
}

export function formatPolicy(r: PolicyRecord): string {
  return [
    `policy v${r.version} for cohort ${r.cohort}, by ${r.author} at ${when(r.createdAt)}${r.previous ? ` (replaces v${r.previous})` : ' (first for this cohort)'}`,
    '',
    `changes${r.previous ? ` since v${r.previous}` : ''}:`,
    formatDiff(r.diff).replace(/^/gm, '  '),
    '',
    'policy:',
    toYaml(r.policy).trimEnd().replace(/^/gm, '  '),
  ].join('\n');
}

function readPolicyFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`policy file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UsageError(`policy file ${file}: not valid YAML/JSON (${(e as Error).message.split('\n')[0]}): fix the syntax`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`policy file ${file}: expected a policy (a mapping with rules:), see docs/healing.md`);
  return doc as Record<string, unknown>;
}

/**
 * `homeostat coordinator …`: run it (the default), print its public key, and push or read heal
 * policies through the running coordinator's API.
 */
export function registerCoordinatorCommands(parent: Command): void {
  parent
    .command('run', { isDefault: true })
    .description('run the coordinator: broker (embedded or external), registry, ingest, HTTP API')
    .option('-c, --config <file>', 'YAML or JSON config file')
    .option('--broker-url <url>', 'use an external broker (Mosquitto, EMQX) instead of the embedded one')
    .addOption(new Option('--mqtt-port <port>', 'embedded broker port').argParser(Number))
    .addOption(new Option('--api-port <port>', 'HTTP API port').argParser(Number))
    .action(async (o: { config?: string; brokerUrl?: string; mqttPort?: number; apiPort?: number }) => {
      try {
        const overrides: Record<string, unknown> = {};
        if (o.brokerUrl) overrides.broker = { url: o.brokerUrl };
        else if (o.mqttPort !== undefined) overrides.broker = { embedded: { host: '127.0.0.1', port: o.mqttPort } };
        if (o.apiPort !== undefined) overrides.api = { port: o.apiPort };
        const coordinator = new Coordinator(loadCoordinatorConfig(o.config, overrides), { log: createLogger('coordinator') });
        stopOnSignals([coordinator]);
        await coordinator.start();
      } catch (e) {
        fail(e);
      }
    });

  parent
    .command('key')
    .description("print the coordinator's public key for agent configs (fleet.publicKey); creates the key pair if there is none yet")
    .option('-c, --config <file>', 'the coordinator config (to find its data directory)')
    .option('--data-dir <dir>', 'the coordinator data directory (default ./.homeostat/coordinator)')
    .option('--pem', 'print PEM instead of the one-line form')
    .action((o: { config?: string; dataDir?: string; pem?: boolean }) => {
      try {
        const cfg = loadCoordinatorConfig(o.config, o.dataDir ? { dataDir: o.dataDir } : {});
        const k = loadOrCreateFleetKeys(cfg.dataDir);
        if (k.created) process.stderr.write(`homeostat: created the fleet signing key ${k.privateFile} (keep it private; back it up)\n`);
        process.stdout.write(o.pem ? k.publicKey.export({ format: 'pem', type: 'spki' }).toString() : `${k.publicKeyText}\n`);
        process.stderr.write(`homeostat: key id ${k.keyId}; put the key in each agent config as fleet.publicKey (or fleet.publicKeyFile: ${k.publicFile})\n`);
      } catch (e) {
        fail(e);
      }
    });

  const policy = parent.command('policy').description('heal policies: push a new version to a cohort, list and show the history');

  withApiOptions(policy.command('push').argument('<file>', 'the policy (YAML or JSON; see docs/healing.md)'))
    .description('validate, version, sign and publish a heal policy to a cohort (retained: agents that connect later get it too)')
    .option('--cohort <name>', 'the cohort it is for', 'default')
    .option('--author <name>', 'recorded in the history (default: your user name)')
    .action(async (file: string, o: ApiTargetOptions & { cohort: string; author?: string }) => {
      try {
        const policyDoc = readPolicyFile(file);
        const author = o.author ?? (process.env.USER || userInfo().username || 'admin');
        const r = await apiCall<PolicyRecord & { published: boolean; error?: string; problems?: string[] }>(resolveApiTarget(o), 'POST', '/api/policies', { cohort: o.cohort, author, policy: policyDoc });
        if (r.status === 400) throw new UsageError(`${file} was not pushed:\n  ${(r.body.problems ?? [String((r.body as { error?: string }).error)]).join('\n  ')}`);
        if (r.status !== 201 && r.status !== 202) throw new UsageError(`push failed: ${r.status} ${JSON.stringify(r.body)}`);
        const b = r.body;
        process.stdout.write(`policy v${b.version} for cohort ${b.cohort} ${b.published ? 'published' : 'stored'} (${b.diff.length} change${b.diff.length === 1 ? '' : 's'}${b.previous ? ` since v${b.previous}` : ''})\n${formatDiff(b.diff).replace(/^/gm, '  ')}\n`);
        if (!b.published) process.stderr.write(`homeostat: ${b.error}\n`);
      } catch (e) {
        fail(e);
      }
    });

  withApiOptions(policy.command('history'))
    .description('every policy version pushed, oldest first, with its author, time and what changed')
    .option('--cohort <name>', 'only this cohort')
    .option('--json', 'print JSON')
    .action(async (o: ApiTargetOptions & { cohort?: string; json?: boolean }) => {
      try {
        const r = await apiCall<PolicyVersion[]>(resolveApiTarget(o), 'GET', `/api/policies${o.cohort ? `?cohort=${encodeURIComponent(o.cohort)}` : ''}`);
        if (r.status !== 200) throw new UsageError(`history failed: ${r.status} ${JSON.stringify(r.body)}`);
        process.stdout.write(o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatHistory(r.body)}\n`);
      } catch (e) {
        fail(e);
      }
    });

  withApiOptions(policy.command('show').argument('<version>', 'the version number (as history lists it)'))
    .description('one policy version: who pushed it and when, its diff against the previous version, and the policy')
    .option('--json', 'print JSON')
    .action(async (version: string, o: ApiTargetOptions & { json?: boolean }) => {
      try {
        const r = await apiCall<PolicyRecord & { error?: string }>(resolveApiTarget(o), 'GET', `/api/policies/${encodeURIComponent(version.replace(/^v/, ''))}`);
        if (r.status !== 200) throw new UsageError(r.body.error ?? `show failed: ${r.status}`);
        process.stdout.write(o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatPolicy(r.body)}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
