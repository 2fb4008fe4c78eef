// The model presets and the settings form. The small preset is `lstm-wasm train`'s defaults, so a
// model trained here on the bundled corpus is the CLI's model (and `train --resume` continues it).

export const PRESETS = {
  small: { cell: 'lstm', embedDim: 32, hiddenSize: 128, numLayers: 1, dropout: 0, seqLen: 64, batchSize: 32, lr: 3e-3 },
  medium: { cell: 'lstm', embedDim: 64, hiddenSize: 256, numLayers: 1, dropout: 0, seqLen: 64, batchSize: 32, lr: 2e-3 },
  large: { cell: 'lstm', embedDim: 64, hiddenSize: 512, numLayers: 2, dropout: 0.2, seqLen: 100, batchSize: 32, lr: 2e-3 },
};

/** The settings the form edits (the rest keep the package's defaults). */
export const FORM_SETTINGS = Object.keys(PRESETS.small);

const NUMBERS = new Set(FORM_SETTINGS.filter((k) => k !== 'cell'));

/** The form's settings; a field left empty keeps the package's default. */
export function readSettings(form) {
  const out = {};
  for (const k of FORM_SETTINGS) {
    const v = form.elements[k].value.trim();
    if (v !== '') out[k] = NUMBERS.has(k) ? Number(v) : v;
  }
  return out;
}

/** Shows `settings` in the form, with the preset they are (or 'custom'). */
export function writeSettings(form, settings) {
  for (const k of FORM_SETTINGS) if (settings[k] !== undefined) form.elements[k].value = String(settings[k]);
  const preset = Object.keys(PRESETS).find((name) => sameSettings(PRESETS[name], settings));
  form.elements.preset.value = preset ?? 'custom';
}

/** True when `a` and `b` agree on every setting the form edits. */
export function sameSettings(a, b) {
  return FORM_SETTINGS.every((k) => a[k] === b[k]);
}
