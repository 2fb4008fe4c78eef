#!/usr/bin/env node
// Fine-tuning the pretrained model against training from scratch, for the same wall time on the
// same text: Debian's licence texts (/usr/share/common-licenses, not in the bundled corpus), each
// file once. Both runs are `lstm-wasm train` on all the cores, one after the other, with the same
// validation split; the result is the validation loss each ends with on all the held-out text.
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
function licenceText() {
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

function train(label, args, env) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, 'train', ...args, '--time', values.time, '--sample-every', '0'], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${label}: lstm-wasm train exited with ${r.status}\n${r.stderr}`);
  const m = /validation loss (\d+\.\d+) .* on all ([\d,]+) held-out tokens/.exec(r.stdout);
  const steps = /=== done \(.*\): (\d+) steps/.exec(r.stdout);
  if (m === null) throw new Error(`${label}: no final validation loss in\n${r.stdout}`);
  return { label, valLoss: Number(m[1]), heldOut: Number(m[2].replace(/,/g, '')), steps: Number(steps?.[1]), wallMs: Date.now() - t0 };
}

const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-finetune-'));
try {
  const text = join(dir, 'licences.txt');
  writeFileSync(text, licenceText());
  const env = values.pretrained === undefined ? {} : { LSTM_WASM_PRETRAINED: values.pretrained };
  const load = loadavg()[0];
  const scratch = train('from scratch (the default model)', [text, '--out', join(dir, 'scratch.safetensors')], env);
  const tuned = train('fine-tuned (--from pretrained)', [text, '--from', 'pretrained', '--out', join(dir, 'tuned.safetensors')], env);
  const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.versions.node} (load average ${load.toFixed(1)} before)`;
  const lines = [
    `Machine: ${machine}. Command: node bench/finetune.mjs --time ${values.time}. Text: Debian's licence texts, ${readFileSync(text).length.toLocaleString('en-US')} bytes.`,
    '',
    '| run | steps | validation loss (nats/char, all held-out text) |',
    '| --- | --: | --: |',
    ...[scratch, tuned].map((r) => `| ${r.label} | ${r.steps.toLocaleString('en-US')} | ${r.valLoss.toFixed(3)} |`),
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'finetune.json'), JSON.stringify({ machine, time: values.time, scratch, tuned }, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
