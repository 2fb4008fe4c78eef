#!/usr/bin/env node
// Fine-tuning the pretrained model against training from scratch, for the same wall time on the
// same text, on texts not in the bundled corpus: Debian's licence texts (/usr/share/common-licenses).
// Two texts: GPL-3 alone (35 KB, the size of "a text of one's own"), and every licence text once
// (237 KB, many near-copies of each other: GPL-1/2/3, LGPL-2/2.1/3, MPL-1.1/2.0, GFDL-1.2/1.3).
// For each, two `lstm-wasm train` runs on all the cores, one after the other, with the same
// validation split: the default model from scratch, and the pretrained model fine-tuned
// (`train --from pretrained`). The table gives the validation loss each ends with on all the
// held-out text, and the best of the quick estimates along the way (a run stopped at its best).
// The texts are ASCII, so nats per byte (the pretrained model's tokens) are nats per character.
//
//   node bench/finetune.mjs [--time 60s] [--pretrained FILE]   (needs dist/ and the pretrained model)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const { values } = parseArgs({ options: { time: { type: 'string', default: '60s' }, pretrained: { type: 'string' } } });
const LICENCES = '/usr/share/common-licenses';

/** Every licence text once (several names are links to one file), in name order. */
function allLicences() {
  const seen = new Set();
  const parts = [];
  for (const name of readdirSync(LICENCES).sort()) {
    const real = realpathSync(join(LICENCES, name));
    if (seen.has(real)) continue;
    seen.add(real);
    parts.push(readFileSync(real, 'utf8'));
  }
  return parts.join('\n');
}

const TEXTS = [
  { name: 'GPL-3', text: () => readFileSync(join(LICENCES, 'GPL-3'), 'utf8') },
  { name: 'all licence texts', text: allLicences },
];

function train(label, args, env) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, 'train', ...args, '--time', values.time, '--eval-every', '5s', '--sample-every', '0'], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${label}: lstm-wasm train exited with ${r.status}\n${r.stderr}`);
  const m = /validation loss (\d+\.\d+) .* on all ([\d,]+) held-out tokens/.exec(r.stdout);
  const steps = /=== done \(.*\): (\d+) steps/.exec(r.stdout);
  const estimates = /validation estimate over training time: (.*)/.exec(r.stdout)?.[1] ?? '';
  const points = [...estimates.matchAll(/(\d+:\d+) (\d+\.\d+)/g)].map((p) => ({ at: p[1], valLoss: Number(p[2]) }));
  if (m === null) throw new Error(`${label}: no final validation loss in\n${r.stdout}`);
  const best = points.reduce((a, p) => (a === null || p.valLoss < a.valLoss ? p : a), null);
  return { label, valLoss: Number(m[1]), bestValLoss: best?.valLoss ?? null, bestAt: best?.at ?? null, heldOut: Number(m[2].replace(/,/g, '')), steps: Number(steps?.[1]), wallMs: Date.now() - t0 };
}

const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-finetune-'));
try {
  const env = values.pretrained === undefined ? {} : { LSTM_WASM_PRETRAINED: values.pretrained };
  const load = loadavg()[0];
  const results = [];
  for (const t of TEXTS) {
    const file = join(dir, 'text.txt');
    writeFileSync(file, t.text());
    const bytes = readFileSync(file).length;
    const scratch = train('from scratch (the default model)', [file, '--out', join(dir, 'scratch.safetensors')], env);
    const tuned = train('fine-tuned (--from pretrained)', [file, '--from', 'pretrained', '--out', join(dir, 'tuned.safetensors')], env);
    results.push({ text: t.name, bytes, scratch, tuned });
  }
  const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.versions.node} (load average ${load.toFixed(1)} before)`;
  const f = (v) => (v === null ? '-' : v.toFixed(3));
  const lines = [
    `Machine: ${machine}. Command: node bench/finetune.mjs --time ${values.time}.`,
    '',
    '| text | run | steps | validation loss at the end | best estimate on the way |',
    '| --- | --- | --: | --: | --: |',
    ...results.flatMap((r) => [r.scratch, r.tuned].map((x) =>
      `| ${r.text} (${r.bytes.toLocaleString('en-US')} bytes, ${x.heldOut.toLocaleString('en-US')} held out) | ${x.label} | ${x.steps.toLocaleString('en-US')} | ${f(x.valLoss)} | ${f(x.bestValLoss)} at ${x.bestAt} |`)),
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'finetune.json'), JSON.stringify({ machine, time: values.time, results }, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
