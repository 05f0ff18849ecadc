import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Claims younger than this belong to a suite that may still be running. */
const CLAIM_TTL_MS = 30 * 60_000;
const CLAIMS = join(tmpdir(), 'homeostat-test-ports');

/**
 * A port that was free a moment ago and that no other test process of this run has been given.
 * The suite runs files in parallel processes; a port probed free by one can be handed to another
 * before the first binds it (one CI run lost a test that way: its probe answered from another
 * file's demo service). A claim file created with O_EXCL makes the hand-out exclusive.
 */
export async function freePort(): Promise<number> {
  mkdirSync(CLAIMS, { recursive: true });
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probeFreePort();
    if (claim(port)) return port;
  }
  throw new Error(`freePort: 50 free ports were all claimed by other tests; clear ${CLAIMS} if no suite is running`);
}

function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - statSync(file).mtimeMs < CLAIM_TTL_MS) return false;
      writeFileSync(file, `${process.pid}\n`);
      return true;
    } catch {
      return false;
    }
  }
}

async function probeFreePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
