/**
 * Tokenizers: text <-> int32 token ids.
 *
 * - `ByteTokenizer`: one token per byte of the text's UTF-8, a fixed vocabulary of 256: any text
 *   encodes, with no unknown token, so a model of it can be fine-tuned on any other text. On
 *   ASCII text it is a character tokenizer. A character of several bytes is several tokens, so
 *   decoding a stream goes through a `TokenDecoder`, which holds an incomplete character's bytes.
 * - `CharTokenizer`: one token per Unicode code point, over a vocabulary built from a text; id 0 is
 *   `<unk>` (a character the vocabulary has not seen). Decoding `<unk>` gives U+FFFD.
 * - `WordTokenizer`: words, numbers and single punctuation marks; a line break is the `<eos>`
 *   token. Ids 0..3 are `<pad>`, `<unk>`, `<bos>`, `<eos>`; the vocabulary keeps the most frequent
 *   words (ties broken by first appearance) up to `maxSize`, the rest become `<unk>`.
 *
 * Each serializes to plain JSON (`toJSON`, `tokenizerFromJSON`) so a checkpoint carries its vocabulary.
 */
import { FormatError, ValueError } from '../errors';
import { checkOptions, optionKeys } from '../options';

export type TokenizerLevel = 'char' | 'word' | 'byte';

export interface TokenizerJSON {
  type: TokenizerLevel;
  /** Id -> token, specials first. */
  vocab: string[];
  lowercase?: boolean;
}

export interface Tokenizer {
  readonly level: TokenizerLevel;
  /** Id -> token (a byte tokenizer's: the character, or `<0xNN>`). */
  readonly vocab: readonly string[];
  /** Number of tokens (the model's V). */
  readonly size: number;
  /** Id of `<unk>`; null when every text encodes without one (byte level). */
  readonly unkId: number | null;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /**
   * A decoder of a stream of tokens that follow `context` (the ids before them, such as a prime;
   * word spacing depends on the last one): `next(id)` gives the text `id` completes.
   */
  decoder(context?: ArrayLike<number>): TokenDecoder;
  /** Id of a token string (a byte tokenizer's: one ASCII character or `<0xNN>`), or `<unk>`. */
  idOf(token: string): number;
  toJSON(): TokenizerJSON;
}

/** Turns a stream of token ids into text, one token at a time. */
export interface TokenDecoder {
  /** The text token `id` completes: '' for the first bytes of a character of several. */
  next(id: number): string;
  /** The end of the stream: U+FFFD for an incomplete character left over, else ''. */
  end(): string;
}

/** How many of `ids` are the tokenizer's `<unk>` (0 for a byte tokenizer, which has none). */
export function countUnknown(tokenizer: Tokenizer, ids: ArrayLike<number>): number {
  if (tokenizer.unkId === null) return 0;
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === tokenizer.unkId) n++;
  return n;
}

export const UNK = '<unk>';
export const PAD = '<pad>';
export const BOS = '<bos>';
export const EOS = '<eos>';

abstract class VocabTokenizer implements Tokenizer {
  abstract readonly level: TokenizerLevel;
  readonly vocab: readonly string[];
  protected readonly index = new Map<string, number>();
  readonly unkId: number;

  protected constructor(vocab: readonly string[], name: string) {
    if (!Array.isArray(vocab) || vocab.length === 0) throw new ValueError(`${name}: vocab must be a non-empty array of strings`);
    vocab.forEach((tok, i) => {
      if (typeof tok !== 'string') throw new ValueError(`${name}: vocab[${i}] is ${typeof tok}, expected a string`);
      if (this.index.has(tok)) throw new ValueError(`${name}: vocab has '${tok}' twice (ids ${this.index.get(tok)} and ${i})`);
      this.index.set(tok, i);
    });
    const unk = this.index.get(UNK);
    if (unk === undefined) throw new ValueError(`${name}: vocab has no '${UNK}' token`);
    this.vocab = Object.freeze(vocab.slice());
    this.unkId = unk;
  }

  get size(): number {
    return this.vocab.length;
  }

  idOf(token: string): number {
    return this.index.get(token) ?? this.unkId;
  }

  decode(ids: ArrayLike<number>): string {
    let out = '';
    let prev: number | null = null;
    for (let i = 0; i < ids.length; i++) {
      out += this.decodeNext(ids[i], prev);
      prev = ids[i];
    }
    return out;
  }

  decoder(context: ArrayLike<number> = []): TokenDecoder {
    let prev: number | null = context.length > 0 ? context[context.length - 1] : null;
    return {
      next: (id) => {
        const text = this.decodeNext(id, prev);
        prev = id;
        return text;
      },
      end: () => '',
    };
  }

  protected token(id: number): string {
    const tok = this.vocab[id];
    if (tok === undefined || !Number.isInteger(id)) {
      throw new ValueError(`${this.constructor.name}.decode: id ${id} is out of range for a vocabulary of ${this.size}`);
    }
    return tok;
  }

  abstract encode(text: string): Int32Array;
  /** The text of one token, as it appears when it follows `prev` (spacing rules for words). */
  abstract decodeNext(id: number, prev: number | null): string;
  abstract toJSON(): TokenizerJSON;
}

export class CharTokenizer extends VocabTokenizer {
  readonly level = 'char' as const;

  /** `vocab[0]` must be `<unk>`; every other entry one code point. Use `CharTokenizer.fromText` to build one. */
  constructor(vocab: readonly string[]) {
    super(vocab, 'CharTokenizer');
    vocab.forEach((tok, i) => {
      if (tok !== UNK && [...tok].length !== 1) throw new ValueError(`CharTokenizer: vocab[${i}] = ${JSON.stringify(tok)} is not one character`);
    });
  }

  /** The vocabulary of every distinct code point in `text`, sorted by code point, after `<unk>`. */
  static fromText(text: string): CharTokenizer {
    const chars = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer([UNK, ...chars]);
  }

  encode(text: string): Int32Array {
    const out = new Int32Array(countCodePoints(text));
    let i = 0;
    for (const ch of text) out[i++] = this.index.get(ch) ?? this.unkId;
    return out;
  }

  decodeNext(id: number, _prev: number | null): string {
    return id === this.unkId ? '\uFFFD' : this.token(id);
  }

  toJSON(): TokenizerJSON {
    return { type: 'char', vocab: this.vocab.slice() };
  }
}

const WORD_TOKENIZER_KEYS = optionKeys<WordTokenizerOptions>({ maxSize: true, minCount: true, lowercase: true });
const LOWERCASE_KEYS = optionKeys<{ lowercase?: boolean }>({ lowercase: true });

export interface WordTokenizerOptions {
  /** Keep at most this many tokens, specials included (default 10000). */
  maxSize?: number;
  /** Words seen fewer times become `<unk>` (default 1). */
  minCount?: number;
  /** Lowercase before counting and encoding (default false). */
  lowercase?: boolean;
}

/** Words (letters, digits, apostrophes and inner hyphens), or one other non-space character. */
const WORD_RE = /\r?\n|[\p{L}\p{N}]+(?:['\u2019-][\p{L}\p{N}]+)*|[^\s]/gu;
/** Tokens written without a space before them. */
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')', ']', '}', "'", '\u2019', '%']);
/** Tokens written without a space after them. */
const NO_SPACE_AFTER = new Set(['(', '[', '{', '\u2018']);

export class WordTokenizer extends VocabTokenizer {
  readonly level = 'word' as const;
  readonly lowercase: boolean;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;

  constructor(vocab: readonly string[], options: { lowercase?: boolean } = {}) {
    super(vocab, 'WordTokenizer');
    checkOptions('WordTokenizer', options, LOWERCASE_KEYS);
    options ??= {};
    for (const s of [PAD, BOS, EOS]) if (!this.index.has(s)) throw new ValueError(`WordTokenizer: vocab has no '${s}' token`);
    this.lowercase = options.lowercase ?? false;
    this.padId = this.index.get(PAD)!;
    this.bosId = this.index.get(BOS)!;
    this.eosId = this.index.get(EOS)!;
  }

  /** Splits text into word tokens; a line break becomes `<eos>`. */
  static split(text: string, lowercase = false): string[] {
    const src = lowercase ? text.toLowerCase() : text;
    return Array.from(src.matchAll(WORD_RE), (m) => (m[0] === '\n' || m[0] === '\r\n' ? EOS : m[0]));
  }

  static fromText(text: string, options: WordTokenizerOptions = {}): WordTokenizer {
    checkOptions('WordTokenizer.fromText', options, WORD_TOKENIZER_KEYS);
    options ??= {};
    const maxSize = options.maxSize ?? 10000;
    const minCount = options.minCount ?? 1;
    if (!Number.isInteger(maxSize) || maxSize < 5) throw new ValueError(`WordTokenizer.fromText: maxSize must be an integer >= 5, got ${maxSize}`);
    const counts = new Map<string, number>();
    for (const w of WordTokenizer.split(text, options.lowercase)) if (w !== EOS) counts.set(w, (counts.get(w) ?? 0) + 1);
    // Map iteration is insertion (first appearance) order and sort is stable: ties keep it.
    const words = [...counts].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1]).map(([w]) => w);
    const specials = [PAD, UNK, BOS, EOS];
    return new WordTokenizer([...specials, ...words.slice(0, maxSize - specials.length)], { lowercase: options.lowercase });
  }

  encode(text: string): Int32Array {
    return Int32Array.from(WordTokenizer.split(text, this.lowercase), (w) => this.index.get(w) ?? this.unkId);
  }

  decodeNext(id: number, prev: number | null): string {
    const tok = this.token(id);
    if (id === this.eosId) return '\n';
    if (id === this.padId || id === this.bosId) return '';
    if (prev === null || prev === this.eosId || prev === this.bosId || prev === this.padId) return tok;
    if (NO_SPACE_BEFORE.has(tok) || NO_SPACE_AFTER.has(this.token(prev))) return tok;
    return ' ' + tok;
  }

  toJSON(): TokenizerJSON {
    return { type: 'word', vocab: this.vocab.slice(), lowercase: this.lowercase };
  }
}

/** A byte's token: the character for printable ASCII, a line break and a tab; `<0xNN>` for the rest. */
function byteToken(b: number): string {
  if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x09) return String.fromCharCode(b);
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** The byte tokenizer's vocabulary: token i is byte i. */
export const BYTE_VOCAB: readonly string[] = Object.freeze(Array.from({ length: 256 }, (_, b) => byteToken(b)));

/**
 * One token per byte of the text's UTF-8 (256 tokens, no `<unk>`): every text encodes, and a model
 * trained on one text can be fine-tuned on any other. A character of several bytes is several
 * tokens; `decode` and `decoder()` put them back together (an incomplete or invalid sequence
 * becomes U+FFFD, as UTF-8 decoding does).
 */
export class ByteTokenizer implements Tokenizer {
  readonly level = 'byte' as const;
  readonly vocab = BYTE_VOCAB;
  readonly size = 256;
  readonly unkId = null;
  private static readonly encoder = new TextEncoder();

  encode(text: string): Int32Array {
    return Int32Array.from(ByteTokenizer.encoder.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const d = this.decoder();
    let out = '';
    for (let i = 0; i < ids.length; i++) out += d.next(ids[i]);
    return out + d.end();
  }

  decoder(_context?: ArrayLike<number>): TokenDecoder {
    const utf8 = new TextDecoder('utf-8', { fatal: false });
    const byte = new Uint8Array(1);
    return {
      next: (id) => {
        if (!Number.isInteger(id) || id < 0 || id > 255) throw new ValueError(`ByteTokenizer.decode: id ${id} is out of range for a vocabulary of 256`);
        byte[0] = id;
        return utf8.decode(byte, { stream: true });
      },
      end: () => utf8.decode(),
    };
  }

  idOf(token: string): number {
    const id = BYTE_VOCAB.indexOf(token);
    if (id < 0) throw new ValueError(`ByteTokenizer.idOf: ${JSON.stringify(token)} is not one byte's token (an ASCII character or <0xNN>); encode() a longer text`);
    return id;
  }

  toJSON(): TokenizerJSON {
    return { type: 'byte', vocab: BYTE_VOCAB.slice() };
  }
}

/** Builds the tokenizer of a level from a text (the vocabulary of that text; byte level: the fixed 256). */
export function buildTokenizer(level: TokenizerLevel, text: string, options: WordTokenizerOptions = {}): Tokenizer {
  checkOptions('buildTokenizer', options, WORD_TOKENIZER_KEYS);
  if (level === 'char') return CharTokenizer.fromText(text);
  if (level === 'word') return WordTokenizer.fromText(text, options);
  if (level === 'byte') return new ByteTokenizer();
  throw new ValueError(`buildTokenizer: level must be 'char', 'word' or 'byte', got '${level as string}'`);
}

/** The inverse of `tokenizer.toJSON()`; a malformed object is a FormatError. */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  const j = json as Partial<TokenizerJSON> | null;
  if (j === null || typeof j !== 'object' || !Array.isArray(j.vocab)) throw new FormatError('tokenizerFromJSON: expected { type, vocab: string[] }');
  try {
    if (j.type === 'char') return new CharTokenizer(j.vocab);
    if (j.type === 'word') return new WordTokenizer(j.vocab, { lowercase: j.lowercase === true });
    if (j.type === 'byte') {
      if (j.vocab.length !== 256 || j.vocab.some((t, i) => t !== BYTE_VOCAB[i])) throw new ValueError('a byte vocabulary must be the 256 byte tokens in order');
      return new ByteTokenizer();
    }
  } catch (e) {
    throw new FormatError(`tokenizerFromJSON: ${(e as Error).message}`);
  }
  throw new FormatError(`tokenizerFromJSON: unknown tokenizer type ${JSON.stringify(j.type)} (expected 'char', 'word' or 'byte')`);
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
