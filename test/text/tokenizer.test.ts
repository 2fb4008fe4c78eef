// Tokenizers: vocabularies from text, encode/decode round trips, <unk>, specials, JSON.
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, BYTE_VOCAB, CharTokenizer, WordTokenizer, buildTokenizer, tokenizerFromJSON, FormatError, ValueError } from 'lstm-wasm';

describe('CharTokenizer', () => {
  const text = 'In the beginning God created the heaven and the earth.\n';

  it('builds a sorted vocabulary after <unk> and round-trips its text', () => {
    const tok = CharTokenizer.fromText(text);
    expect(tok.vocab[0]).toBe('<unk>');
    expect(tok.unkId).toBe(0);
    expect(tok.vocab.slice(1)).toEqual([...new Set(text)].sort());
    const ids = tok.encode(text);
    expect(ids).toBeInstanceOf(Int32Array);
    expect(ids.length).toBe(text.length);
    expect(tok.decode(ids)).toBe(text);
  });

  it('maps unseen characters to <unk> and decodes them as U+FFFD', () => {
    const tok = CharTokenizer.fromText('abc');
    expect(Array.from(tok.encode('abz'))).toEqual([1, 2, 0]);
    expect(tok.decode([1, 0, 3])).toBe('a\uFFFDc');
  });

  it('treats an astral code point as one token', () => {
    const tok = CharTokenizer.fromText('a😀b');
    expect(tok.size).toBe(4);
    const ids = tok.encode('😀a😀');
    expect(ids.length).toBe(3);
    expect(tok.decode(ids)).toBe('😀a😀');
  });

  it('round-trips through JSON', () => {
    const tok = CharTokenizer.fromText(text);
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back).toBeInstanceOf(CharTokenizer);
    expect(back.vocab).toEqual(tok.vocab);
    expect(Array.from(back.encode(text))).toEqual(Array.from(tok.encode(text)));
  });

  it('rejects ids out of range and malformed vocabularies', () => {
    const tok = CharTokenizer.fromText('ab');
    expect(() => tok.decode([7])).toThrow(/id 7 is out of range for a vocabulary of 3/);
    expect(() => new CharTokenizer(['a', 'b'])).toThrow(ValueError);
    expect(() => new CharTokenizer(['<unk>', 'ab'])).toThrow(/not one character/);
    expect(() => new CharTokenizer(['<unk>', 'a', 'a'])).toThrow(/twice/);
  });
});

describe('WordTokenizer', () => {
  const text = 'And God said, Let there be light: and there was light.\nAnd God saw the light, that it was good.\n';

  it('splits words, punctuation and line breaks (<eos>)', () => {
    expect(WordTokenizer.split("Don't stop, it's the well-known end.\nNext")).toEqual([
      "Don't", 'stop', ',', "it's", 'the', 'well-known', 'end', '.', '<eos>', 'Next',
    ]);
  });

  it('has <pad>, <unk>, <bos>, <eos> first, then words by frequency', () => {
    const tok = WordTokenizer.fromText(text);
    expect(tok.vocab.slice(0, 4)).toEqual(['<pad>', '<unk>', '<bos>', '<eos>']);
    expect([tok.padId, tok.unkId, tok.bosId, tok.eosId]).toEqual([0, 1, 2, 3]);
    // 'light' (3) is the most frequent word, then the ones seen twice in order of first appearance.
    expect(tok.vocab[4]).toBe('light');
    expect(tok.vocab.slice(5, 9)).toEqual(['And', 'God', ',', 'there']);
  });

  it('decodes with natural spacing and round-trips tokenized text', () => {
    const tok = WordTokenizer.fromText(text + 'Then (they said) it.');
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode(tok.encode('And God said (and there was light).'))).toBe('And God said (and there was light).');
  });

  it('keeps at most maxSize tokens; the rest become <unk>', () => {
    const tok = WordTokenizer.fromText(text, { maxSize: 6 });
    expect(tok.size).toBe(6);
    const ids = tok.encode('light And Babylon');
    expect(Array.from(ids)).toEqual([4, 5, tok.unkId]);
    expect(tok.decode(ids)).toBe('light And <unk>');
  });

  it('lowercases when asked and keeps that through JSON', () => {
    const tok = WordTokenizer.fromText(text, { lowercase: true });
    expect(tok.vocab).not.toContain('And');
    expect(tok.idOf('and')).toBe(tok.encode('AND')[0]);
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back).toBeInstanceOf(WordTokenizer);
    expect((back as WordTokenizer).lowercase).toBe(true);
    expect(back.vocab).toEqual(tok.vocab);
  });

  it('buildTokenizer picks the level', () => {
    expect(buildTokenizer('char', 'ab').level).toBe('char');
    expect(buildTokenizer('word', 'a b').level).toBe('word');
    expect(buildTokenizer('byte', 'ab').level).toBe('byte');
    expect(() => buildTokenizer('bytes' as 'char', 'ab')).toThrow(/level must be 'char', 'word' or 'byte'/);
  });

  it('tokenizerFromJSON rejects malformed input with a FormatError', () => {
    expect(() => tokenizerFromJSON(null)).toThrow(FormatError);
    expect(() => tokenizerFromJSON({ type: 'bpe', vocab: ['<unk>'] })).toThrow(/unknown tokenizer type "bpe"/);
    expect(() => tokenizerFromJSON({ type: 'word', vocab: ['<unk>', 'a'] })).toThrow(/no '<pad>' token/);
  });
});

describe('ByteTokenizer', () => {
  const texts = {
    ascii: 'In the beginning God created the heaven and the earth.\n',
    german: 'Im Anfang schuf Gott Himmel und Erde. Größe, Übermaß, Fuß.',
    greek: 'Ἐν ἀρχῇ ἦν ὁ λόγος',
    chinese: '起初，神创造天地。',
    emoji: 'fire 🔥, family 👨‍👩‍👧, flag 🇫🇷, and a lone 😀',
    mixed: 'tab\there, CR\r\nNUL-free \u00a0nbsp and \u{10FFFF} the last code point',
  };

  it('encodes any text to its UTF-8 bytes, with no unknown token, and decodes it back exactly', () => {
    const tok = new ByteTokenizer();
    expect(tok.size).toBe(256);
    expect(tok.unkId).toBeNull();
    for (const [name, text] of Object.entries(texts)) {
      const ids = tok.encode(text);
      expect(Array.from(ids), name).toEqual(Array.from(new TextEncoder().encode(text)));
      expect(tok.decode(ids), name).toBe(text);
    }
    // On ASCII it is a character tokenizer: one token per character, the character's code.
    expect(Array.from(tok.encode('Ab\n'))).toEqual([65, 98, 10]);
  });

  it('decodes a stream token by token: a character of several bytes comes whole with its last byte', () => {
    const tok = new ByteTokenizer();
    const ids = tok.encode('a€😀b');
    const d = tok.decoder();
    const pieces = Array.from(ids, (id) => d.next(id));
    expect(pieces).toEqual(['a', '', '', '€', '', '', '', '😀', 'b']);
    expect(d.end()).toBe('');
    // A stream that stops inside a character ends with U+FFFD; invalid bytes decode as U+FFFD, as UTF-8 decoding does.
    const cut = tok.decoder();
    expect(cut.next(0xe2) + cut.next(0x82)).toBe('');
    expect(cut.end()).toBe('\uFFFD');
    expect(tok.decode([0x61, 0xff, 0x62])).toBe('a\uFFFDb');
    expect(tok.decode([0xc3, 0x41])).toBe('\uFFFDA');
    expect(() => tok.decoder().next(256)).toThrow(ValueError);
  });

  it('names its 256 tokens (the character for printable ASCII, <0xNN> otherwise) and looks them up', () => {
    const tok = new ByteTokenizer();
    expect(BYTE_VOCAB).toHaveLength(256);
    expect(new Set(BYTE_VOCAB).size).toBe(256);
    expect([BYTE_VOCAB[10], BYTE_VOCAB[32], BYTE_VOCAB[65], BYTE_VOCAB[0], BYTE_VOCAB[0xe2]]).toEqual(['\n', ' ', 'A', '<0x00>', '<0xE2>']);
    expect(tok.idOf('\n')).toBe(10);
    expect(tok.idOf('<0xE2>')).toBe(0xe2);
    expect(() => tok.idOf('€')).toThrow(/not one byte's token/);
    expect(buildTokenizer('byte', 'anything')).toBeInstanceOf(ByteTokenizer);
  });

  it('round-trips through JSON; a vocabulary that is not the 256 bytes in order is a FormatError', () => {
    const json = new ByteTokenizer().toJSON();
    expect(json.type).toBe('byte');
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(json)));
    expect(back).toBeInstanceOf(ByteTokenizer);
    expect(back.decode(back.encode(texts.emoji))).toBe(texts.emoji);
    const swapped = json.vocab.slice();
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    expect(() => tokenizerFromJSON({ type: 'byte', vocab: swapped })).toThrow(FormatError);
    expect(() => tokenizerFromJSON({ type: 'byte', vocab: json.vocab.slice(0, 255) })).toThrow(FormatError);
  });
});
