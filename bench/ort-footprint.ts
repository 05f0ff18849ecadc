// What the ONNX runtime itself costs in resident memory, step by step, each step in a fresh
// process: bare Node, Node with onnxruntime-node imported, and with one session of the shipped
// base model open (the detector's own SESSION_OPTIONS) after 100 inferences. Separates the
// runtime's fixed cost from the agent's own memory when the agent's RSS with detection is
// weighed against the foundation's 100 MB target (agent-footprint.ts). Median of 3 processes per step.
import { execFileSync } from 'node:child_process';
import { machineLine, median } from './machine.ts';
import { SESSION_OPTIONS } from '../agent/detect/model-file.ts';

const RUNS = 3;
const rss = 'process.stdout.write(String(process.memoryUsage().rss / 1048576))';
const steps: Array<{ name: string; script: string }> = [
  { name: 'bare Node', script: rss },
  { name: 'onnxruntime-node imported', script: `await import('onnxruntime-node'); ${rss}` },
  {
    name: 'one session of the base model, after 100 inferences',
    script: `const ort = await import('onnxruntime-node');
const s = await ort.InferenceSession.create('models/base/homeostat-base-v1.onnx', ${JSON.stringify(SESSION_OPTIONS)});
const input = s.inputNames[0];
const x = new ort.Tensor('float32', new Float32Array(140), [1, 10, 14]);
for (let i = 0; i < 100; i++) await s.run({ [input]: x });
${rss}`,
  },
];

const measured = steps.map((s) => ({
  ...s,
  mib: median(Array.from({ length: RUNS }, () => Number(execFileSync(process.execPath, ['--input-type=module', '-e', s.script], { encoding: 'utf8' })))),
}));
const f = (n: number) => n.toFixed(1);
console.log(`## ONNX runtime memory (fresh process per step, median of ${RUNS})

${machineLine()}

| step | RSS MiB | added by the step |
|---|---|---|
${measured.map((s, k) => `| ${s.name} | ${f(s.mib)} | ${k === 0 ? 'baseline' : `+${f(s.mib - measured[k - 1]!.mib)}`} |`).join('\n')}
| onnxruntime-node in total (import + session) | | +${f(measured[2]!.mib - measured[0]!.mib)} |
`);
