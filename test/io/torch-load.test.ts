/**
 * loadTorch / readTorch on files torch.save wrote (test/fixtures/torch, made by
 * scripts/fixtures/make_torch_fixtures.py with torch 1.13; expected.json holds every saved value):
 * every tensor's dtype, shape and values (float32 bit-exact, ints exact) and every plain value;
 * strided, shared and big-endian storages; the tutorial models loaded into lstm-wasm's modules
 * with `model.loadStateDict(loadTorch(bytes))` give torch's outputs (within 1e-5, relative to
 * max(1, |expected|): float32 in another summation order, measured worst 3e-7) and leak nothing;
 * an Adam state_dict loads into optim.Adam and its next step matches torch's (1e-6).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, loadTorch, readTorch, memory, nn, optim, Module, Tensor, tensor, tidy, noGrad, bmm, cat, permute, softmax, tanh, add,
  pow, sum, logSoftmax, type TorchDict, type TorchValue,
} from 'lstm-wasm';
import { expectClose, fixturesDir, type FixtureTensor } from '../nn/fixture-helpers';

const TOL = 1e-5;
const dir = `${fixturesDir}torch/`;
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(dir + name));

interface ExpectedTensor extends FixtureTensor {
  tensor: true;
  dtype: string;
}
type Expected = ExpectedTensor | number | string | boolean | null | Expected[] | { [k: string]: Expected };
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as Record<string, any>;
const VALID = Object.keys(expected).filter((k) => k.endsWith('.pt') && !(k in expected.refused));

beforeAll(async () => {
  await init();
});

/** Every tensor of a loaded value, once each. */
function tensorsIn(v: TorchValue, out = new Set<Tensor>()): Set<Tensor> {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) v.forEach((x) => tensorsIn(x, out));
  else if (v !== null && typeof v === 'object') Object.values(v).forEach((x) => tensorsIn(x, out));
  return out;
}

function disposeAll(v: TorchValue): void {
  for (const t of tensorsIn(v)) t.dispose();
}

const LOADED_AS: Record<string, string> = {
  float32: 'float32', float64: 'float32', float16: 'float32', bfloat16: 'float32',
  int64: 'int32', int32: 'int32', int16: 'int32', int8: 'int32', uint8: 'int32', bool: 'int32',
};

/** Compares a loaded value with the generator's record, recursively; `dtypes` is readTorch's per path. */
function expectValue(got: TorchValue, want: Expected, path: string, dtypes: Map<string, string>): void {
  if (want !== null && typeof want === 'object' && !Array.isArray(want) && (want as ExpectedTensor).tensor === true) {
    const w = want as ExpectedTensor;
    expect(got, path).toBeInstanceOf(Tensor);
    const t = got as Tensor;
    expect(Array.from(t.shape), `${path} shape`).toEqual(w.shape);
    expect(t.dtype, `${path} dtype`).toBe(LOADED_AS[w.dtype]);
    if (dtypes.has(path)) expect(dtypes.get(path), `${path} stored dtype`).toBe(w.dtype);
    const data = t.toArray();
    if (t.dtype === 'float32') {
      // Bit-exact: the float32 the generator wrote (float64/float16/bfloat16 converted by torch's .float()).
      const ref = Float32Array.from(w.data);
      for (let i = 0; i < ref.length; i++) if (!Object.is(data[i], ref[i])) expect(data[i], `${path}[${i}]`).toBe(ref[i]);
    } else {
      expect(Array.from(data), path).toEqual(w.data);
    }
    return;
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(got), `${path} is an array`).toBe(true);
    expect((got as TorchValue[]).length, `${path} length`).toBe(want.length);
    want.forEach((x, i) => expectValue((got as TorchValue[])[i], x, `${path}.${i}`, dtypes));
    return;
  }
  if (want !== null && typeof want === 'object') {
    expect(Object.keys(got as object), `${path} keys`).toEqual(Object.keys(want));
    for (const [k, x] of Object.entries(want)) expectValue((got as TorchDict)[k], x, path === '' ? k : `${path}.${k}`, dtypes);
    return;
  }
  if (typeof want === 'number' && !Number.isSafeInteger(want) && Number.isInteger(want)) expect(got, path).toBe(BigInt(want));
  else expect(got, path).toBe(want);
}

describe('loadTorch: every value of every valid fixture', () => {
  it.each(VALID)('%s', (name) => {
    const live = memory().liveTensors;
    const file = readTorch(bytesOf(name));
    const dtypes = new Map(file.tensors.map((t) => [t.path, t.dtype]));
    expectValue(file.stateDict, expected[name].values, '', dtypes);
    expect(memory().liveTensors).toBe(live + tensorsIn(file.stateDict).size);
    expect(tensorsIn(file.stateDict).size, 'readTorch lists each tensor once').toBe(file.tensors.length);
    disposeAll(file.stateDict);
    expect(memory().liveTensors).toBe(live);
  });

  it('dtypes.pt: what readTorch says (stored dtype, loaded dtype, path), the byte order and folder', () => {
    const file = readTorch(bytesOf('dtypes.pt'));
    expect(file.byteorder).toBe('little');
    expect(file.archive).toBe('dtypes');
    const info = Object.fromEntries(file.tensors.map((t) => [t.path, `${t.dtype}->${t.loadedAs} ${t.shape.join('x')}`]));
    expect(info).toMatchObject({
      f64: 'float64->float32 4', f16: 'float16->float32 4', bf16: 'bfloat16->float32 3', i64: 'int64->int32 4', u8: 'uint8->int32 3',
      bool: 'bool->int32 3', scalar: 'float32->float32 ', empty: 'float32->float32 0x3', transposed: 'float32->float32 4x3', 'nested.a.b': 'float32->float32 2',
    });
    // One tensor object saved under two keys is one Tensor (listed once, under the first key).
    expect(file.stateDict.twice).toBe(file.stateDict.i32);
    expect(info.twice).toBeUndefined();
    // Views keep their own values (a copy each), not the storage's.
    expect(Array.from((file.stateDict.view_b as Tensor).toArray())).toEqual([5, 7, 9, 11].map((v) => v / 8));
    expect(file.stateDict.big).toBe(2n ** 60n);
    expect((file.stateDict.nested as TorchDict)['0']).toBe('int key');
    disposeAll(file.stateDict);
  });

  it('dtypes_big.pt (byteorder big, every storage byte-swapped) loads the same values as dtypes.pt', () => {
    const big = readTorch(bytesOf('dtypes_big.pt'));
    const little = readTorch(bytesOf('dtypes.pt'));
    expect(big.byteorder).toBe('big');
    for (const { path } of little.tensors) {
      const at = (d: TorchDict): Tensor => path.split('.').reduce<TorchValue>((v, k) => (v as TorchDict)[k], d) as Tensor;
      expect(Array.from(at(big.stateDict).toArray()), path).toEqual(Array.from(at(little.stateDict).toArray()));
    }
    disposeAll(big.stateDict);
    disposeAll(little.stateDict);
  });

  it('takes an ArrayBuffer, a Uint8Array view into a larger buffer, and a Node Buffer', () => {
    const bytes = bytesOf('plain_dict.pt');
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 7);
    for (const input of [bytes.slice().buffer, padded.subarray(7, 7 + bytes.length), readFileSync(`${dir}plain_dict.pt`)]) {
      const sd = loadTorch<TorchDict>(input);
      expect(Array.from((sd.w as Tensor).toArray())).toEqual([0, 1, 2, 3, 4, 5]);
      expect(sd.step).toBe(7);
      disposeAll(sd);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The tutorial models in lstm-wasm, loaded with model.loadStateDict(loadTorch(bytes))
// ---------------------------------------------------------------------------------------------

const f32 = (f: FixtureTensor): Tensor => tensor(Float32Array.from(f.data), f.shape);
const ids = (f: FixtureTensor): Tensor => tensor(Int32Array.from(f.data), f.shape);

/** Loads a file into a model as a user would, checking that nothing is left behind. */
function loadInto(model: Module, name: string): void {
  const live = memory().liveTensors;
  const result = model.loadStateDict(loadTorch(bytesOf(name)));
  expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
  expect(memory().liveTensors, `${name}: the loaded dict is freed by loadStateDict`).toBe(live);
}

class LSTMTagger extends Module {
  word_embeddings = new nn.Embedding(9, 6);
  lstm = new nn.LSTM(6, 6);
  hidden2tag = new nn.Linear(6, 3);
  forward(sentence: Tensor): Tensor {
    const embeds = this.word_embeddings.forward(sentence);                     // (T, E)
    const [lstmOut] = this.lstm.forward(embeds.reshape([sentence.shape[0], 1, -1]));
    return logSoftmax(this.hidden2tag.forward(lstmOut.reshape([sentence.shape[0], -1])), 1);
  }
}

class CharRNN extends Module {
  rnn = new nn.RNN(57, 8);
  h2o = new nn.Linear(8, 4);
  forward(line: Tensor): Tensor {
    const [, hidden] = this.rnn.forward(line);
    return logSoftmax(this.h2o.forward(hidden.select(0, 0)), 1);
  }
}

class BahdanauAttention extends Module {
  Wa = new nn.Linear(8, 8);
  Ua = new nn.Linear(8, 8);
  Va = new nn.Linear(8, 1);
  forward(query: Tensor, keys: Tensor): [Tensor, Tensor] {
    const scores = this.Va.forward(tanh(add(this.Wa.forward(query), this.Ua.forward(keys)))).squeeze(2).unsqueeze(1);
    const weights = softmax(scores, -1);
    return [bmm(weights, keys), weights];
  }
}

class Seq2Seq extends Module {
  encoder = new (class extends Module {
    embedding = new nn.Embedding(10, 8);
    gru = new nn.GRU(8, 8, { batchFirst: true });
  })();
  decoder = new (class extends Module {
    embedding = new nn.Embedding(11, 8);
    attention = new BahdanauAttention();
    gru = new nn.GRU(16, 8, { batchFirst: true });
    out = new nn.Linear(8, 11);
  })();
}

describe('the tutorial models: loadStateDict(loadTorch(bytes)) gives torch\'s outputs', () => {
  it('LSTM POS tagger (Embedding -> LSTM -> Linear -> log_softmax)', () => {
    const f = expected['pos_tagger.pt'];
    const model = new LSTMTagger();
    loadInto(model, 'pos_tagger.pt');
    tidy(() => expectClose(noGrad(() => model.forward(ids(f.input))), f.output, TOL, 'tag scores'));
    model.dispose();
  });

  it('char-RNN name classifier (nn.RNN -> Linear -> log_softmax)', () => {
    const f = expected['char_rnn.pt'];
    const model = new CharRNN();
    loadInto(model, 'char_rnn.pt');
    tidy(() => expectClose(noGrad(() => model.forward(f32(f.input))), f.output, TOL, 'class scores'));
    model.dispose();
  });

  it('nn.LSTM with every option (2 layers, bidirectional, batch_first, proj_size, dropout in eval)', () => {
    const f = expected['lstm_all.pt'];
    const lstm = new nn.LSTM(4, 5, { numLayers: 2, bias: true, batchFirst: true, dropout: 0.25, bidirectional: true, projSize: 3 });
    lstm.eval();
    loadInto(lstm, 'lstm_all.pt');
    tidy(() => {
      const [out, [h, c]] = noGrad(() => lstm.forward(f32(f.input)));
      expectClose(out, f.output, TOL, 'output');
      expectClose(h, f.h, TOL, 'h');
      expectClose(c, f.c, TOL, 'c');
    });
    lstm.dispose();
  });

  it('seq2seq with Bahdanau attention: the encoder, then one attention decoder step', () => {
    const f = expected['seq2seq_attn.pt'];
    const model = new Seq2Seq();
    loadInto(model, 'seq2seq_attn.pt');
    tidy(() => noGrad(() => {
      const { encoder, decoder } = model;
      const [encOut, encHidden] = encoder.gru.forward(encoder.embedding.forward(ids(f.input)));
      expectClose(encOut, f.encoder_outputs, TOL, 'encoder outputs');
      expectClose(encHidden, f.encoder_hidden, TOL, 'encoder hidden');
      const embedded = decoder.embedding.forward(tensor(Int32Array.from([0, 0]), [2, 1]));     // SOS
      const [context, weights] = decoder.attention.forward(permute(encHidden, [1, 0, 2]), encOut);
      const [output, hidden] = decoder.gru.forward(cat([embedded, context], 2), encHidden);
      expectClose(decoder.out.forward(output), f.decoder_logits, TOL, 'decoder logits');
      expectClose(hidden, f.decoder_hidden, TOL, 'decoder hidden');
      expectClose(weights, f.attn_weights, TOL, 'attention weights');
    }));
    model.dispose();
  });
});

describe('an optimizer\'s state_dict', () => {
  it('torch Adam\'s state_dict (step as a 0-d tensor, state keyed by index, betas a tuple) loads into optim.Adam; its next step matches torch', () => {
    const f = expected['adam.pt'];
    const live = memory().liveTensors;
    const model = new nn.Linear(3, 2);
    loadInto(model, 'adam_model.pt');
    const state = loadTorch<TorchDict>(bytesOf('adam.pt'));
    expect(Object.keys(state.state as TorchDict)).toEqual(['0', '1']);
    expect((state.param_groups as TorchDict[])[0].betas).toEqual([0.8, 0.99]);
    const opt = new optim.Adam(model.parameters(), { lr: 0.05, betas: [0.8, 0.99], eps: 1e-7 });
    opt.loadStateDict(state as unknown as Parameters<typeof opt.loadStateDict>[0]);
    disposeAll(state);   // nested tensors are the caller's (loadStateDict copied them)
    tidy(() => {
      opt.zeroGrad();
      sum(pow(model.forward(f32(f.x)), 2)).backward();
      opt.step();
    });
    expectClose(model.weight, f.after_step3.weight, 1e-6, 'weight after step 3');
    expectClose(model.bias, f.after_step3.bias, 1e-6, 'bias after step 3');
    opt.dispose();
    model.dispose();
    expect(memory().liveTensors).toBe(live);
  });
});
