export interface Stoppable {
  stop(): Promise<void>;
}

/** Ctrl-C / SIGTERM stop the parts in reverse order, then exit 0; a second Ctrl-C exits at once. */
export function stopOnSignals(parts: Stoppable[], before?: () => void): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) {
      process.stderr.write(`homeostat: ${sig} again, exiting without a clean stop\n`);
      process.exit(130);
    }
    stopping = true;
    before?.();
    process.stderr.write(`homeostat: ${sig}, stopping…\n`);
    void (async () => {
      for (const p of [...parts].reverse()) await p.stop().catch((e: Error) => process.stderr.write(`homeostat: stop failed: ${e.message}\n`));
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
