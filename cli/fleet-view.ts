/**
 * The live fleet table `homeostat start` shows: it reads the coordinator's own HTTP API, the
 * same one any dashboard or script uses, so what the terminal shows is what the API says.
 */
interface AgentRow {
  id: string;
  state: string;
  lastSeen: number | null;
  latestTelemetry?: { ts: number; metrics: Record<string, { last: number; mean: number }> } | null;
}

const COLUMNS: Array<[string, string, (n: number) => string]> = [
  ['cpu_user_pct', 'cpu usr%', (n) => n.toFixed(1)],
  ['mem_used_pct', 'mem%', (n) => n.toFixed(1)],
  ['load1_per_core', 'load/core', (n) => n.toFixed(2)],
  ['disk_used_max_pct', 'disk%', (n) => n.toFixed(1)],
  ['process_count', 'procs', (n) => String(Math.round(n))],
];

function ago(ts: number | null, now: number): string {
  if (!ts) return '-';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  return s < 90 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}

export function renderFleet(agents: AgentRow[], now = Date.now()): string {
  const header = ['agent', 'state', 'last seen', ...COLUMNS.map((c) => c[1])];
  const rows = agents.map((a) => {
    const m = a.latestTelemetry?.metrics ?? {};
    return [a.id, a.state, ago(a.lastSeen, now), ...COLUMNS.map(([k, , f]) => (m[k] ? f(m[k].last) : '-'))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + (rows.length ? '' : '\n(no agents yet)');
}

export function startFleetView(apiBase: string, intro: string, intervalMs = 2000): () => void {
  const tty = process.stdout.isTTY;
  let last = '';
  if (!tty) process.stdout.write(`${intro}\n\n`);
  const tick = async () => {
    let body: string;
    try {
      const res = await fetch(`${apiBase}/api/agents`, { signal: AbortSignal.timeout(1500) });
      body = renderFleet((await res.json()) as AgentRow[]);
    } catch (e) {
      body = `(fleet status unavailable: ${(e as Error).message})`;
    }
    if (tty) process.stdout.write(`\x1b[H\x1b[2J${intro}\n\n${body}\n\nCtrl-C stops both.\n`);
    else if (body !== last) process.stdout.write(`${new Date().toISOString()}\n${body}\n`);
    last = body;
  };
  void tick();
  const t = setInterval(() => void tick(), tty ? intervalMs : intervalMs * 5);
  return () => clearInterval(t);
}
