// `lstm-wasm train --threads` and `eval --threads`: the command says how many threads it uses
// (default: the cores available, at most --batch), refuses more threads than lanes, resumes a
// checkpoint of one thread count on another, and evaluates to the same loss on any thread count.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fullCorpus } from '../session/session-kit';
import { runCli, type CliRun } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'lstm-wasm-threads-'));
const text = join(dir, 'text.txt');
writeFileSync(text, fullCorpus().slice(0, 60_000));
const TINY = ['--embed', '8', '--hidden', '16', '--batch', '4', '--seq', '16', '--sample-every', '0', '--eval-every', '0', '--save-every', '0'];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]): Promise<CliRun> => runCli(args, { cwd: dir });

describe('lstm-wasm --threads', () => {
  it('trains on the cores available by default (at most --batch) and says so; resumes on another thread count', async () => {
    const first = await cli(['train', text, ...TINY, '--steps', '4', '--out', 'a.safetensors']);
    expect(first.code, first.stderr).toBe(0);
    const n = Math.min(availableParallelism(), 4);
    expect(first.stdout).toContain(n > 1 ? `threads: ${n} (data-parallel: ` : 'threads: 1\n');
    const resumed = await cli(['train', text, '--resume', 'a.safetensors', '--steps', '2', '--threads', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('threads: 1\n');
    expect(resumed.stdout).toContain('step 6 in total');
    const two = await cli(['train', text, '--resume', 'a.safetensors', '--steps', '2', '--threads', '2']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(/threads: 2 \(data-parallel: 2 lanes each; gradients in shared memory\)/);
    expect(two.stdout).toContain('step 8 in total');
  }, 60_000);

  it('refuses more threads than lanes', async () => {
    const r = await cli(['train', text, ...TINY, '--steps', '1', '--threads', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--threads 5 is more than --batch 4: each thread needs a lane');
  }, 30_000);

  it('eval gives the same loss on 1 and 2 threads', async () => {
    const trained = await cli(['train', text, ...TINY, '--steps', '3', '--out', 'b.safetensors']);
    expect(trained.code, trained.stderr).toBe(0);
    const loss = (out: string) => Number(/loss (\d+\.\d+)/.exec(out)?.[1]);
    const one = await cli(['eval', '--checkpoint', 'b.safetensors', '--threads', '1', text]);
    const two = await cli(['eval', '--checkpoint', 'b.safetensors', '--threads', '2', text]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(Number.isFinite(loss(one.stdout))).toBe(true);
    expect(loss(two.stdout)).toBe(loss(one.stdout));
  }, 60_000);
});
