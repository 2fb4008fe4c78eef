// A replica that dies while `lstm-wasm train --threads 2` runs: the command stops with a clear
// error naming the replica, exits 1, and the checkpoint it saved at the last whole step stays
// intact and resumes. The replica is killed by a preload (test/cli/preload/kill-replica.cjs).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../dist/index.js';
import { fullCorpus } from '../session/session-kit';
import { runCli, type CliRun } from '../support/cli';

const PRELOAD = fileURLToPath(new URL('../cli/preload/kill-replica.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-fault-'));
writeFileSync(join(dir, 'text.txt'), fullCorpus().slice(0, 200_000));
const TINY = ['--embed', '8', '--hidden', '16', '--batch', '4', '--seq', '16', '--sample-every', '0', '--eval-every', '0'];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { cwd: dir, env, killAfterMs: 60_000 });

it('a replica killed mid-run stops training with a clear error; the last checkpoint stays whole and resumes', async () => {
  const r = await cli(['train', 'text.txt', ...TINY, '--threads', '2', '--steps', '1000000', '--save-every', '1', '--out', 'ck.safetensors'], {
    NODE_OPTIONS: `--require=${JSON.stringify(PRELOAD)}`,
    KILL_REPLICA_AFTER_MS: '2500',
  });
  expect(r.code, `stdout: ${r.stdout.slice(-500)}\nstderr: ${r.stderr}`).toBe(1);
  expect(r.stderr).toMatch(/lstm-wasm: error: data-parallel replica 1 exited \(code \d+\); training stopped at the last whole step/);
  const ck = decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'ck.safetensors'))));
  const step = ck.meta.trainer!.step;
  expect(step, 'it trained (and saved) before the replica died').toBeGreaterThan(0);
  const resumed = await cli(['train', 'text.txt', '--resume', 'ck.safetensors', '--steps', '2', '--threads', '2']);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stdout).toContain(`resuming at step ${step}`);
  expect(resumed.stdout).toContain(`step ${step + 2} in total`);
}, 90_000);
