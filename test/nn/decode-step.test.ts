// The fused decoding step (one kernel call per step: lw_decode_step, crate/decode.rs) against the
// module path, a Stepper over the same modules' forward: the outputs and states must be the same
// numbers bit for bit on every supported stack (LSTM with and without projection, GRU, RNN tanh and
// relu; 1-3 layers; with and without bias; batch 1, 3 and 5; ids through an embedding and a head,
// or floats straight into the layers), and seeded generation the same text. Bidirectional stacks
// and steppers over a step function of one's own run the modules. test/backend/js-suites.test.ts
// runs this file again on the JS backend (its twin of the kernel).
import { beforeAll, describe, expect, it } from 'vitest';
import * as lw from 'lstm-wasm';
import { expectSameBits } from '../support/bits';

const { nn, tensor, tidy, memory } = lw;
type Tensor = lw.Tensor;

/** A stepper over `forward` run op by op: what the module path computes. */
function moduleStepper(forward: (x: Tensor, state: Tensor[] | null) => { output: Tensor; state: Tensor[] }): lw.nn.Stepper {
  return new nn.Stepper(forward);
}

const states = (s: lw.nn.Stepper): Float32Array[] => s.state!.map((t) => t.toArray() as Float32Array);

{
  describe('fused decoding step', () => {
    beforeAll(() => lw.init());

    const layerKinds = [
      { name: 'LSTM', make: (I: number, H: number, o: object) => new nn.LSTM(I, H, o) },
      { name: 'LSTM proj 3', make: (I: number, H: number, o: object) => new nn.LSTM(I, H, { ...o, projSize: 3 }) },
      { name: 'GRU', make: (I: number, H: number, o: object) => new nn.GRU(I, H, o) },
      { name: 'RNN tanh', make: (I: number, H: number, o: object) => new nn.RNN(I, H, o) },
      { name: 'RNN relu', make: (I: number, H: number, o: object) => new nn.RNN(I, H, { ...o, nonlinearity: 'relu' }) },
    ];

    for (const kind of layerKinds) {
      for (const [layers, bias] of [[1, true], [2, false], [3, true]] as const) {
        it(`${kind.name}, ${layers} layer(s), bias ${bias}: embedding -> layers -> head, batch 1, 3, 5`, () => {
          lw.manualSeed(layers * 7 + (bias ? 1 : 0));
          const [V, E, H] = [13, 6, 9];
          const embed = new nn.Embedding(V, E);
          const rnn = kind.make(E, H, { numLayers: layers, bias, dropout: layers > 1 ? 0.3 : 0 }) as lw.nn.LSTM;
          const head = new nn.Linear(rnn.outSize, V, { bias });
          rnn.train(); // the steppers run eval mode whatever the module's
          const forward = (x: Tensor, state: Tensor[] | null) => {
            rnn.eval();
            try {
              const [out, next] = (rnn as unknown as { forward(i: Tensor, s: unknown): [Tensor, Tensor | Tensor[]] }).forward(
                embed.forward(x), state === null ? null : rnn instanceof nn.LSTM ? state : state[0],
              );
              return { output: head.forward(out), state: Array.isArray(next) ? next : [next] };
            } finally {
              rnn.train();
            }
          };
          // A fused stepper over the same three modules, as LanguageModel builds one.
          for (const B of [1, 3, 5]) {
            const modules = moduleStepper(forward);
            const fused = rnnStepperWithHead(rnn, embed, head, forward);
            expect(fused.path).toBe('fused');
            expect(modules.path).toBe('modules');
            let live1 = 0;
            for (let t = 0; t < 5; t++) {
              const ids = Array.from({ length: B }, (_, b) => (t * 5 + b * 3 + 1) % V);
              const a = fused.step(ids);
              const b = modules.step(ids);
              expectSameBits(a, b, `step ${t} output`);
              expect(fused.outputShape).toEqual(modules.outputShape);
              states(fused).forEach((s, i) => expectSameBits(s, states(modules)[i], `step ${t} state ${i}`));
              if (t === 0) live1 = memory().liveTensors;
              else expect(memory().liveTensors, 'no tensor per step').toBe(live1);
            }
            fused.dispose();
            modules.dispose();
          }
          for (const m of [embed, rnn, head]) m.dispose();
        });
      }

      it(`${kind.name}: floats straight into the layers, (B, I) and (1, B, I) inputs, from a given state`, () => {
        lw.manualSeed(3);
        const [I, H, B] = [5, 7, 3];
        const rnn = kind.make(I, H, { numLayers: 2 }) as lw.nn.LSTM;
        const init = tidy(() => {
          const s = rnn.stepper();
          s.step(tensor(Float32Array.from({ length: B * I }, (_, k) => Math.sin(k)), [B, I]));
          const st = s.state!.map((t) => t.clone());
          s.dispose();
          return st;
        });
        const fused = rnn.stepper({ state: init });
        const modules = moduleStepper((x, state) => {
          const input = x.shape.length === 2 ? x.unsqueeze(0) : x;
          const [out, next] = (rnn as unknown as { forward(i: Tensor, s: unknown): [Tensor, Tensor | Tensor[]] }).forward(
            input, state === null ? null : rnn instanceof nn.LSTM ? state : state[0],
          );
          return { output: x.shape.length === 2 ? out.squeeze(0) : out, state: Array.isArray(next) ? next : [next] };
        });
        modules.reset(init);
        expect(fused.path).toBe('fused');
        for (let t = 0; t < 4; t++) {
          const x = tensor(Float32Array.from({ length: B * I }, (_, k) => Math.cos(k * (t + 1))), t % 2 === 0 ? [B, I] : [1, B, I]);
          expectSameBits(fused.step(x), modules.step(x), `step ${t}`);
          expect(fused.outputShape).toEqual(modules.outputShape);
          states(fused).forEach((s, i) => expectSameBits(s, states(modules)[i], `step ${t} state ${i}`));
          x.dispose();
        }
        // Several time steps at once run the modules, and the state carries on between the paths.
        const seq = tensor(Float32Array.from({ length: 2 * B * I }, (_, k) => Math.sin(k / 3)), [2, B, I]);
        expectSameBits(fused.step(seq), modules.step(seq), 'a (T, B, I) step');
        const x = tensor(Float32Array.from({ length: B * I }, (_, k) => k / 10), [B, I]);
        expectSameBits(fused.step(x), modules.step(x), 'a fused step after it');
        for (const t of [seq, x, ...init]) t.dispose();
        fused.dispose();
        modules.dispose();
        rnn.dispose();
      });
    }

    it('LanguageModel: its stepper is fused, and seeded generation gives the text of the module path', () => {
      const text = 'In the beginning God created the heaven and the earth. And the earth was without form, and void. '.repeat(5);
      const tok = lw.buildTokenizer('char', text);
      for (const cell of ['lstm', 'gru'] as const) {
        lw.manualSeed(11);
        const model = new lw.LanguageModel({ vocabSize: tok.size, cell, embedDim: 8, hiddenSize: 16, numLayers: 2, dropout: 0.2 });
        const s = model.stepper();
        expect(s.path).toBe('fused');
        s.dispose();
        const fusedText = lw.sampleText(model, tok, 'And God', { length: 60, seed: 5, temperature: 0.9, topK: 10 });
        // The same sampling loop over a stepper of the module path.
        const modules = new nn.Stepper((x, state) => {
          model.eval();
          const out = model.forward(x, state);
          return { output: out.logits, state: out.state };
        });
        const gen = new lw.Generator(5);
        const prime = tok.encode('And God');
        let logits = modules.step(tensor(prime, [prime.length, 1])).subarray((prime.length - 1) * tok.size);
        const text = tok.decoder(prime);
        let moduleText = '';
        const suppress = lw.specialIds(tok);
        for (let i = 0; i < 60; i++) {
          const id = lw.sampleFromLogits(logits, { temperature: 0.9, topK: 10, suppress }, gen);
          moduleText += text.next(id);
          logits = modules.step(id);
        }
        modules.dispose();
        expect(fusedText).toBe(moduleText);
        model.dispose();
      }
    });

    it('a bidirectional stack and a stepper of your own run the modules', () => {
      const bi = new nn.LSTM(4, 5, { bidirectional: true });
      const s = bi.stepper();
      expect(s.path).toBe('modules');
      const out = s.step(tensor(new Float32Array(8), [2, 4]));
      expect(out.length).toBe(2 * 10);
      s.dispose();
      bi.dispose();
    });

    it('errors: ids out of range, a disposed model, a state of another batch', () => {
      lw.manualSeed(1);
      const model = new lw.LanguageModel({ vocabSize: 10, cell: 'lstm', embedDim: 4, hiddenSize: 6, numLayers: 1, dropout: 0 });
      const s = model.stepper();
      expect(() => s.step([3, 10])).toThrow(lw.IndexError);
      expect(() => s.step([3, 10])).toThrow(/token id 10 at position 1 is out of range for 10 embeddings/);
      expect(() => s.step([1.5])).toThrow(lw.ValueError);
      s.step([1, 2]);
      const before = states(s);
      // A step of 3 lanes on a state of 2: the module path's ShapeError, and the state is unchanged.
      expect(() => s.step([1, 2, 3])).toThrow(lw.ShapeError);
      states(s).forEach((t, i) => expectSameBits(t, before[i], `state ${i} after the refused step`));
      model.dispose();
      expect(() => s.step([1, 2])).toThrow(lw.DisposedError);
      s.dispose();
    });

    it('memory stays flat over many steps, and dispose frees every buffer', () => {
      lw.manualSeed(2);
      const model = new lw.LanguageModel({ vocabSize: 20, cell: 'lstm', embedDim: 8, hiddenSize: 16, numLayers: 2, dropout: 0 });
      const before = memory();
      const s = model.stepper();
      s.step([1, 2, 3]);
      const after1 = memory();
      for (let i = 0; i < 200; i++) s.stepView([i % 20, (i * 3) % 20, (i * 7) % 20]);
      expect(memory().liveTensors).toBe(after1.liveTensors);
      expect(memory().tensorBytes).toBe(after1.tensorBytes);
      expect(memory().usedBytes, 'no kernel scratch grows either').toBe(after1.usedBytes);
      s.dispose();
      expect(memory().liveTensors).toBe(before.liveTensors);
      model.dispose();
    });
  });
}

/** A fused stepper over embedding -> rnn -> head: the stepper LanguageModel makes, for any stack. */
function rnnStepperWithHead(
  rnn: lw.nn.LSTM, embed: lw.nn.Embedding, head: lw.nn.Linear,
  forward: (x: Tensor, state: Tensor[] | null) => { output: Tensor; state: Tensor[] },
): lw.nn.Stepper {
  const f32 = (t: Tensor) => ({ data: t, scales: null, rows: t.shape[0] });
  const decode = new lw.nn.DecodeStep(() => rnn.decodeStack(f32(embed.weight), { weight: f32(head.weight), bias: head.bias }), 'test');
  return new nn.Stepper(forward, {}, decode);
}
