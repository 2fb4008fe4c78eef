/**
 * Guards for JSON read from files (safetensors headers, checkpoint JSON): a scan of the text that
 * bounds its nesting before anything walks it, and short descriptions of parsed values for error
 * messages. Never JSON.stringify a value read from a file into a message: one nested a few
 * thousand deep overflows the stack, and a long one floods the message.
 */

export interface JsonScan {
  /** The text nests deeper than the limit (the scan stopped there). */
  tooDeep: boolean;
  /** Each key of the top-level object as raw JSON text (quotes and escapes kept), in order. */
  topLevelKeys: string[];
}

const QUOTE = 34; // "
const BACKSLASH = 92;
const OPEN_BRACE = 123; // {
const OPEN_BRACKET = 91; // [
const CLOSE_BRACE = 125; // }
const CLOSE_BRACKET = 93; // ]
const COMMA = 44;

/**
 * One linear pass over JSON text: how deep it nests (stopping past `maxDepth`), and the keys of
 * its top-level object, counted by hand because JSON.parse keeps only the last of repeated keys.
 * The text need not be valid JSON (JSON.parse judges that); for valid text the answer is exact.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  const topLevelKeys: string[] = [];
  let depth = 0;
  let inString = false;
  let keyStart = -1;
  let prev = 0; // the last character outside strings that is not whitespace
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) {
        i++;
      } else if (c === QUOTE) {
        inString = false;
        if (keyStart >= 0) topLevelKeys.push(text.slice(keyStart, i + 1));
        keyStart = -1;
        prev = QUOTE;
      }
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      // In an object a string right after `{` or `,` is a key.
      if (depth === 1 && (prev === OPEN_BRACE || prev === COMMA)) keyStart = i;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return { tooDeep: true, topLevelKeys };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
    if (c > 32) prev = c;
  }
  return { tooDeep: false, topLevelKeys };
}

/** The first key that `scanJson` saw more than once, with its count; null when all are distinct. */
export function repeatedKey(rawKeys: readonly string[]): { key: string; count: number } | null {
  const counts = new Map<string, number>();
  for (const raw of rawKeys) {
    let key: string;
    try {
      key = JSON.parse(raw) as string;
    } catch {
      continue; // invalid text; JSON.parse of the whole says so
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, count] of counts) if (count > 1) return { key, count };
  return null;
}

const SHORT = 40;

/**
 * A parsed JSON value, described for a message in bounded length without walking into it:
 * `null`, `5`, `true`, `a string "x"`, `a string of 100000 characters`, `an array of 3 items`,
 * `an object`, and `nothing` for a missing field.
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return v.length <= SHORT ? `a string ${JSON.stringify(v)}` : `a string of ${v.length} characters`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  return 'an object';
}

/**
 * Like `describeValue`, but short strings and short arrays of numbers are written as JSON
 * (`"F16"`, `[2, 3]`): the form of a safetensors header's dtype, shape and data_offsets.
 */
export function showValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string' && v.length <= SHORT) return JSON.stringify(v);
  if (Array.isArray(v) && v.length <= 8 && v.every((x) => typeof x === 'number')) return `[${v.join(', ')}]`;
  return describeValue(v);
}

/** A name for a message: as is when short, else its start and its length. */
export function showName(name: string): string {
  return name.length <= 64 ? name : `${name.slice(0, 48)}... (${name.length} characters)`;
}
