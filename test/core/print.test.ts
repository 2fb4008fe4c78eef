// How a tensor prints (issue 23, item 5): PyTorch's repr, checked against torch 1.13's own
// (test/fixtures/print.json, from scripts/fixtures/make_print_fixtures.py): the values part must
// be PyTorch's character for character; then lstm-wasm adds the shape, the dtype and the origin.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, zeros, type Tensor } from 'lstm-wasm';

interface Case {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: (number | string)[];
  repr: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/print.json', import.meta.url), 'utf8')) as { torch: string; cases: Case[] };

beforeAll(async () => {
  await init();
});

const decode = (v: number | string) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : (v as number));

function make(c: Case): Tensor {
  const values = c.data.map(decode);
  return tensor(c.dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values), c.shape);
}

/** PyTorch's repr without what it appends after the values (`, dtype=torch.int32`, `, size=(0, 3)`). */
const torchValues = (repr: string) => repr.replace(/(, (dtype=torch\.\w+|size=\([\d, ]*\)))+\)$/, ')');
/** Ours without `, shape=[...], dtype=...`. */
const ourValues = (s: string) => s.replace(/, shape=\[[\d, ]*\], dtype=\w+\)$/, ')');

describe('printing a tensor', () => {
  it.each(fixture.cases.map((c, i) => [i, c.shape.join('x') || 'scalar', c.dtype, c] as const))(
    "case %i (%s %s) prints PyTorch's values",
    (_, __, ___, c) => {
      const t = make(c);
      const printed = String(t);
      expect(printed).toMatch(new RegExp(`, shape=\\[${c.shape.join(', ')}\\], dtype=${c.dtype}\\)$`));
      expect(ourValues(printed)).toBe(torchValues(c.repr));
      t.dispose();
    },
  );

  it('console.log prints the same text (util.inspect), not the fields', () => {
    const t = tensor([1.5, -2], [2]);
    expect(inspect(t)).toBe(String(t));
    expect(inspect({ t })).toContain('tensor([ 1.5000, -2.0000], shape=[2], dtype=float32)');
    expect(inspect(t)).not.toMatch(/ptr_|bytes/);
    t.dispose();
  });

  it('says where a tensor came from: requiresGrad on a leaf, the op that made it otherwise; and when it is disposed', () => {
    const x = tensor([1.5, 2], [2], { requiresGrad: true });
    const y = x.mul(2);
    const s = y.logSoftmax(0);
    expect(String(x)).toBe('tensor([1.5000, 2.0000], shape=[2], dtype=float32, requiresGrad=true)');
    expect(String(y)).toBe('tensor([3., 4.], shape=[2], dtype=float32, gradFn=<MulBackward>)');
    expect(String(s)).toMatch(/gradFn=<LogSoftmaxBackward>\)$/);
    [x, y, s].forEach((t) => t.dispose());
    expect(String(x)).toBe('tensor(<disposed>, shape=[2], dtype=float32)');
  });

  it('summarizes past 1000 elements, not at 1000', () => {
    const at = zeros([1000]);
    const past = zeros([1001]);
    expect(String(at)).not.toContain('...');
    expect(String(past)).toContain('[0., 0., 0.,  ..., 0., 0., 0.]');
    [at, past].forEach((t) => t.dispose());
  });
});
