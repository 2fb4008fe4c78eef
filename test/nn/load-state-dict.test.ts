// loadStateDict as PyTorch's load_state_dict (issue 23, item 7): { strict: false } loads what
// matches and returns the missing and unexpected keys; { prefix } loads one part of a combined file.
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, ValueError, init, manualSeed, nn, tensor, tidy } from 'lstm-wasm';

beforeAll(async () => {
  await init();
});

const values = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.toArray())]));

describe('loadStateDict', () => {
  it('strict (the default) refuses a dict whose keys differ, naming them and both ways out', () => {
    manualSeed(1);
    const lin = new nn.Linear(2, 3);
    const w = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(() => lin.loadStateDict({ weight: w })).toThrow(/^loadStateDict: missing key\(s\): bias \(or \{ strict: false \} to load the keys that match\)$/);
    const before = values(lin);
    expect(() => lin.loadStateDict({ 'enc.weight': w, 'enc.bias': tensor([0, 0, 0]) }))
      .toThrow(/unexpected key\(s\): enc.weight, enc.bias; if the file holds more than this module, load its part with \{ prefix: 'enc.' \}/);
    expect(values(lin)).toEqual(before);
    w.dispose();
    lin.dispose();
  });

  it('{ strict: false } loads the keys that match and returns the rest, as PyTorch does', () => {
    manualSeed(2);
    const lin = new nn.Linear(2, 3);
    const bias = Array.from(lin.bias!.toArray());
    tidy(() => {
      const result = lin.loadStateDict({ weight: tensor([1, 2, 3, 4, 5, 6], [3, 2]), extra: tensor([9]) }, { strict: false });
      expect(result).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    });
    expect(Array.from(lin.weight.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(lin.bias!.toArray())).toEqual(bias);
    // Shapes must still match (PyTorch raises on a size mismatch even when not strict).
    expect(() => tidy(() => lin.loadStateDict({ weight: tensor([1, 2], [1, 2]) }, { strict: false }))).toThrow(ShapeError);
    expect(lin.loadStateDict(lin.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    lin.dispose();
  });

  it('{ prefix } loads the part of a combined dict under it, strict about that part only', () => {
    manualSeed(3);
    const encoder = new nn.LSTM(3, 4);
    const decoder = new nn.Linear(4, 2);
    const combined = {
      ...Object.fromEntries(Object.entries(encoder.stateDict()).map(([k, v]) => [`encoder.${k}`, v])),
      ...Object.fromEntries(Object.entries(decoder.stateDict()).map(([k, v]) => [`decoder.${k}`, v])),
    };
    manualSeed(4);
    const enc2 = new nn.LSTM(3, 4);
    const dec2 = new nn.Linear(4, 2);
    expect(enc2.loadStateDict(combined, { prefix: 'encoder.' })).toEqual({ missingKeys: [], unexpectedKeys: [] });
    dec2.loadStateDict(combined, { prefix: 'decoder.' });
    expect(values(enc2)).toEqual(values(encoder));
    expect(values(dec2)).toEqual(values(decoder));
    expect(() => dec2.loadStateDict(combined, { prefix: 'encoder.' })).toThrow(/missing key\(s\): weight, bias; unexpected key\(s\): encoder.weight_ih_l0/);
    expect(() => dec2.loadStateDict(combined, { prefix: 3 as never })).toThrow(ValueError);
    expect(() => dec2.loadStateDict(combined, { strict_: false } as never)).toThrow(/strict/);
    [encoder, decoder, enc2, dec2].forEach((m) => m.dispose());
  });
});

describe('the loading idiom leaks nothing (issue 23, item 1, in part)', () => {
  it('model.loadStateDict(loadSafetensors(bytes)) frees the loaded tensors; a dict of your own stays yours', async () => {
    const { loadSafetensors, saveSafetensors, memory } = await import('lstm-wasm');
    manualSeed(7);
    const source = new nn.LSTM(3, 4, 2);
    const bytes = saveSafetensors(source.stateDict());
    const model = new nn.LSTM(3, 4, 2);
    const live = memory().liveTensors;
    model.loadStateDict(loadSafetensors(bytes));
    expect(memory().liveTensors, 'live tensors before and after the idiom').toBe(live);
    expect(values(model)).toEqual(values(source));
    // A dict that is not a loader's (a module's stateDict, a copy) is left to its owner.
    const own = loadSafetensors(bytes);
    const copy = { ...own };
    model.loadStateDict(copy);
    expect(Object.values(own).every((t) => !t.isDisposed)).toBe(true);
    // With a prefix, each part frees what it copied, and the other part is still there to load.
    const combined = loadSafetensors(saveSafetensors({
      ...Object.fromEntries(Object.entries(source.stateDict()).map(([k, v]) => [`a.${k}`, v])),
      ...Object.fromEntries(Object.entries(source.stateDict()).map(([k, v]) => [`b.${k}`, v])),
    }));
    const before = memory().liveTensors;
    model.loadStateDict(combined, { prefix: 'a.' });
    expect(Object.entries(combined).filter(([, t]) => t.isDisposed).map(([k]) => k).every((k) => k.startsWith('a.'))).toBe(true);
    expect(memory().liveTensors).toBe(before - Object.keys(combined).length / 2);
    model.loadStateDict(combined, { prefix: 'b.' });
    expect(Object.values(combined).every((t) => t.isDisposed)).toBe(true);
    Object.values(own).forEach((t) => t.dispose());
    [source, model].forEach((m) => m.dispose());
  });
});
