import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCoordinatorConfig } from '../coordinator/config.ts';
import { PUBLISH_TIMEOUT_MS } from '../shared/link/mqtt-connection.ts';
import { UsageError } from './fail.ts';

/** A push waits for the broker's PUBACK (up to PUBLISH_TIMEOUT_MS) before the API answers. */
export const API_TIMEOUT_MS = PUBLISH_TIMEOUT_MS + 5_000;

export interface ApiTarget {
  base: string;
  token: string | null;
  /** Where the token came from, for the message when it is refused. */
  tokenSource: string;
}

export interface ApiTargetOptions {
  config?: string;
  dataDir?: string;
  api?: string;
  token?: string;
}

/**
 * Finds the running coordinator's API the way an operator on its host would: the address from
 * --api, else from the coordinator config (api.host/port); the admin token from --token, else
 * HOMEOSTAT_ADMIN_TOKEN, else api.adminToken in the config, else <dataDir>/admin-token (the file
 * the coordinator writes at first start). Never creates a token.
 */
export function resolveApiTarget(o: ApiTargetOptions): ApiTarget {
  const cfg = loadCoordinatorConfig(o.config, o.dataDir ? { dataDir: o.dataDir } : {});
  // A coordinator listening on every interface is reached on loopback from its own host.
  const host = ['0.0.0.0', '::'].includes(cfg.api.host) ? '127.0.0.1' : cfg.api.host;
  const base = (o.api ?? `http://${host.includes(':') ? `[${host}]` : host}:${cfg.api.port}`).replace(/\/+$/, '');
  if (o.token) return { base, token: o.token, tokenSource: '--token' };
  if (process.env.HOMEOSTAT_ADMIN_TOKEN) return { base, token: process.env.HOMEOSTAT_ADMIN_TOKEN, tokenSource: 'HOMEOSTAT_ADMIN_TOKEN' };
  if (cfg.api.adminToken) return { base, token: cfg.api.adminToken, tokenSource: `api.adminToken in ${o.config}` };
  const file = join(cfg.dataDir, 'admin-token');
  if (existsSync(file)) return { base, token: readFileSync(file, 'utf8').trim(), tokenSource: file };
  return { base, token: null, tokenSource: `no token (no ${file})` };
}

/** One API call; transport failures and refused tokens become one-line errors that say what to do. */
export async function apiCall<T>(t: ApiTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(`${t.base}${path}`, {
      method,
      headers: { ...(t.token ? { authorization: `Bearer ${t.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch (e) {
    const cause = ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message) || 'no answer';
    throw new UsageError(`cannot reach the coordinator API at ${t.base} (${cause}): is the coordinator running? Pass --api URL, or -c with its config`);
  }
  if (res.status === 401) {
    throw new UsageError(`the coordinator at ${t.base} refused the admin token (${t.tokenSource}): pass --token, or --data-dir/-c of that coordinator so its admin-token file is used`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`the coordinator at ${t.base} answered ${method} ${path} with ${res.status} and no JSON: is --api pointing at a Homeostat coordinator?`);
  }
  return { status: res.status, body: parsed as T };
}
