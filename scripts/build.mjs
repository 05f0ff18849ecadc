// Bundles the CLI with esbuild into dist/. Native modules stay external: better-sqlite3 and
// onnxruntime-node load .node binaries that must match the machine, so they are installed with
// `npm ci --omit=dev` beside dist/ rather than inlined.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, statSync } from 'node:fs';

const external = ['better-sqlite3', 'onnxruntime-node'];
const entries = [
  { in: 'cli/homeostat.ts', out: 'dist/homeostat.mjs', what: 'full CLI (start, coordinator, agent)' },
  { in: 'cli/agent-only.ts', out: 'dist/homeostat-agent.mjs', what: 'edge bundle: agent commands only (no broker, no HTTP server)' },
];

for (const e of entries) {
  await build({
    entryPoints: [e.in],
    outfile: e.out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies call require() on node built-ins; give the ESM bundle one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __hsCreateRequire } from 'node:module'; const require = __hsCreateRequire(import.meta.url);" },
  });
  chmodSync(e.out, 0o755);
  console.log(`${e.out}  ${(statSync(e.out).size / 1024).toFixed(0)} KiB  ${e.what}`);
}
// The agent looks for the shipped base model beside its bundle.
copyFileSync('models/base/homeostat-base-v1.onnx', 'dist/homeostat-base-v1.onnx');
console.log('dist/homeostat-base-v1.onnx  the shipped base model');
console.log(`external (install beside dist/ with npm ci --omit=dev): ${external.join(', ')}`);
