// The settings form. Its presets are the package's (TRAINING_PRESETS): the small one is
// `lstm-wasm train`'s defaults, so a model trained here on the bundled corpus is the CLI's model
// (and `train --resume` continues it).
import { TRAINING_PRESETS } from 'lstm-wasm';

export const PRESETS = TRAINING_PRESETS;

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
