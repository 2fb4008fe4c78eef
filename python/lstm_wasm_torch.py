"""
lstm-wasm checkpoints in PyTorch, and back: plain PyTorch (1.13 or newer), no other dependency.

An lstm-wasm `LanguageModel` checkpoint (ts/training/checkpoint.ts) is one safetensors file:

  tensors   model.<param>   the model's parameters, PyTorch names (embed.weight, rnn.weight_ih_l0, ...)
            optim.<i>.<j>   Adam's buffer j (0: exp_avg, 1: exp_avg_sq) of parameter i, flat
            state.<k>       the carried recurrent state (h, c), (numLayers, B, hiddenSize)
  metadata  format          "lstm-wasm/lm-checkpoint"
            checkpoint      JSON: {version, model, tokenizer, trainer, extra}
            crc32           CRC-32 of the checkpoint JSON's UTF-8 and then every tensor's bytes in
                            name order, 8 hex digits; lstm-wasm refuses a file whose CRC differs.

`LanguageModelTorch` is the same network with PyTorch's own modules, so that its state_dict names
are the checkpoint's without `model.`:

  ids (T, B) int64 -> embed (T, B, E) -> rnn: nn.LSTM / nn.GRU (T, B, H) -> dropout -> head (T, B, V)

    model, tokenizer_json, meta = load_checkpoint('lm.safetensors')
    tok = tokenizer_from_json(tokenizer_json)
    logits, state = model(torch.tensor(tok.encode('And God said')).view(-1, 1))
    save_checkpoint('out.safetensors', model, tokenizer_json, meta)   # weights only: eval/generate/--from

`save_checkpoint(..., trainer_state=...)` also writes what `lstm-wasm train --resume` needs (see
`TrainerState` and python/train_ddp.py, which fills it from a torch Adam).
"""
from __future__ import annotations

import codecs
import gzip
import json
import math
import os
import re
import struct
import sys
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

CHECKPOINT_FORMAT = 'lstm-wasm/lm-checkpoint'
CHECKPOINT_VERSION = 1
QUANTIZED_CHECKPOINT_VERSION = 2

if sys.byteorder != 'little':  # safetensors is little-endian; tensors are written as their memory
    raise ImportError('lstm_wasm_torch: needs a little-endian machine')


# --- safetensors ---------------------------------------------------------------------------------

_DTYPES = {'F32': (torch.float32, 4), 'I32': (torch.int32, 4), 'I8': (torch.int8, 1), 'F16': (torch.float16, 2)}


def tensor_bytes(t: torch.Tensor) -> bytes:
    """A tensor's values as little-endian bytes (without numpy)."""
    t = t.detach().cpu().contiguous().view(-1)
    buf = bytearray(t.numel() * t.element_size())
    if len(buf) > 0:
        torch.frombuffer(buf, dtype=t.dtype).copy_(t)
    return bytes(buf)


def read_safetensors(data: bytes) -> Tuple[Dict[str, Tuple[str, List[int], memoryview]], Dict[str, str]]:
    """Entries by name (dtype, shape, bytes) and the metadata of a safetensors file's bytes."""
    if len(data) < 8:
        raise ValueError(f'safetensors: {len(data)} bytes is too short for the 8-byte header length')
    (n,) = struct.unpack('<Q', data[:8])
    if n > len(data) - 8:
        raise ValueError(f'safetensors: header length {n} exceeds the {len(data) - 8} bytes after it')
    header = json.loads(bytes(data[8:8 + n]).decode('utf-8'))
    body = memoryview(data)[8 + n:]
    metadata = header.pop('__metadata__', {}) or {}
    entries = {}
    for name, e in header.items():
        begin, end = e['data_offsets']
        if e['dtype'] not in _DTYPES:
            raise ValueError(f"safetensors: tensor '{name}' has dtype {e['dtype']}, expected one of {', '.join(_DTYPES)}")
        entries[name] = (e['dtype'], list(e['shape']), body[begin:end])
    return entries, metadata


def encode_safetensors(entries: Dict[str, Tuple[str, Sequence[int], bytes]], metadata: Dict[str, str]) -> bytes:
    """A safetensors file: names in sorted order, data contiguous, header padded to 8 bytes (as lstm-wasm writes)."""
    header: Dict[str, object] = {'__metadata__': metadata}
    offset = 0
    for name in sorted(entries):
        dtype, shape, data = entries[name]
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    h += b' ' * (-len(h) % 8)
    return b''.join([struct.pack('<Q', len(h)), h] + [entries[name][2] for name in sorted(entries)])


def checkpoint_crc(json_text: str, arrays: Sequence[bytes]) -> str:
    """lstm-wasm's `checksum`: CRC-32 (IEEE) of the JSON's UTF-8, then each tensor's bytes in name order."""
    c = zlib.crc32(json_text.encode('utf-8'))
    for a in arrays:
        c = zlib.crc32(a, c)
    return f'{c & 0xffffffff:08x}'


# --- the model -----------------------------------------------------------------------------------

class LanguageModelTorch(nn.Module):
    """
    lstm-wasm's LanguageModel with PyTorch's modules. `config` is the checkpoint's `model` JSON:
    {vocabSize, cell: 'lstm'|'gru', embedDim, hiddenSize, numLayers, dropout}. Dropout is applied as
    lstm-wasm applies it: between stacked layers (nn.LSTM's `dropout`) and on the last layer's
    output before the head, in training mode only.
    """

    def __init__(self, config: dict):
        super().__init__()
        c = dict(config)
        if c['cell'] not in ('lstm', 'gru'):
            raise ValueError(f"LanguageModelTorch: cell must be 'lstm' or 'gru', got {c['cell']!r}")
        self.config = c
        rnn = nn.LSTM if c['cell'] == 'lstm' else nn.GRU
        self.embed = nn.Embedding(c['vocabSize'], c['embedDim'])
        self.rnn = rnn(c['embedDim'], c['hiddenSize'], num_layers=c['numLayers'], dropout=c['dropout'] if c['numLayers'] > 1 else 0.0)
        self.drop = nn.Dropout(c['dropout'])
        self.head = nn.Linear(c['hiddenSize'], c['vocabSize'])

    @property
    def state_size(self) -> int:
        return 2 if self.config['cell'] == 'lstm' else 1

    def forward(self, ids: torch.Tensor, state: Optional[List[torch.Tensor]] = None):
        """ids (T, B) -> logits (T, B, V) and the final state, a list ([h, c] or [h], each (L, B, H))."""
        x = self.embed(ids)
        if state is not None:
            state = (state[0], state[1]) if self.config['cell'] == 'lstm' else state[0]
        out, s = self.rnn(x, state)
        return self.head(self.drop(out)), (list(s) if isinstance(s, tuple) else [s])


def parameter_names(config: dict) -> List[str]:
    """The parameters in lstm-wasm's registration order, which Adam's `optim.<i>.*` follows."""
    names = ['embed.weight']
    for l in range(config['numLayers']):
        names += [f'rnn.weight_ih_l{l}', f'rnn.weight_hh_l{l}', f'rnn.bias_ih_l{l}', f'rnn.bias_hh_l{l}']
    return names + ['head.weight', 'head.bias']


# --- checkpoints ---------------------------------------------------------------------------------

@dataclass
class TrainerState:
    """
    What `lstm-wasm train --resume` continues from: `json` is the checkpoint's `trainer` object
    (step, position, rng, optimizer {type, lr, betas, eps, steps}, losses, val, elapsedMs,
    hasState; see ts/training/trainer-state.ts), `optim[i]` Adam's (exp_avg, exp_avg_sq) of
    parameter i (None where its step is null), `state` the carried state (None when hasState is false).
    """
    json: dict
    optim: List[Optional[Tuple[torch.Tensor, torch.Tensor]]]
    state: Optional[List[torch.Tensor]] = None


@dataclass
class Checkpoint:
    meta: dict
    params: Dict[str, torch.Tensor]
    trainer: Optional[TrainerState] = field(default=None)


def read_checkpoint(path: str) -> Checkpoint:
    """A checkpoint's JSON, parameters (float32; a quantized one's dequantized) and trainer state, CRC checked."""
    with open(path, 'rb') as f:
        data = f.read()
    entries, md = read_safetensors(data)
    if md.get('format') != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an lstm-wasm checkpoint (format {md.get('format')!r}, expected {CHECKPOINT_FORMAT!r})")
    names = sorted(entries)
    crc = checkpoint_crc(md['checkpoint'], [entries[n][2] for n in names])
    if crc != md.get('crc32'):
        raise ValueError(f"{path}: checkpoint is corrupt: checksum {crc} does not match the stored {md.get('crc32')}")
    meta = json.loads(md['checkpoint'])

    def tensor(name: str) -> torch.Tensor:
        dtype, shape, raw = entries[name]
        t = torch.frombuffer(bytearray(raw), dtype=_DTYPES[dtype][0]) if len(raw) else torch.empty(0, dtype=_DTYPES[dtype][0])
        return t.reshape(shape)

    params = {}
    for name in parameter_names(meta['model']):
        t = tensor(f'model.{name}')
        if meta.get('quantization') == 'int8' and t.dim() == 2:
            t = t.float() * tensor(f'model.{name}.scale').view(-1, 1)
        params[name] = t.float()
    trainer = None
    if meta.get('trainer') is not None:
        tj = meta['trainer']
        optim = [None if s is None else (tensor(f'optim.{i}.0'), tensor(f'optim.{i}.1')) for i, s in enumerate(tj['optimizer']['steps'])]
        n_state = 2 if meta['model']['cell'] == 'lstm' else 1
        state = [tensor(f'state.{k}') for k in range(n_state)] if tj['hasState'] else None
        trainer = TrainerState(tj, optim, state)
    return Checkpoint(meta, params, trainer)


def model_from_checkpoint(ck: Checkpoint) -> LanguageModelTorch:
    model = LanguageModelTorch(ck.meta['model'])
    model.load_state_dict(ck.params, strict=True)
    return model


def load_checkpoint(path: str) -> Tuple[LanguageModelTorch, dict, dict]:
    """(model in eval mode, the tokenizer's JSON, the whole checkpoint JSON) of an lstm-wasm checkpoint."""
    ck = read_checkpoint(path)
    return model_from_checkpoint(ck).eval(), ck.meta['tokenizer'], ck.meta


def encode_checkpoint(model: LanguageModelTorch, tokenizer_json: dict, meta: dict, trainer_state: Optional[TrainerState] = None) -> bytes:
    """
    The bytes of a float32 (version 1) checkpoint of `model`. `meta` gives `extra` (the CLI's
    settings and text record; kept as given); the config is the model's, the tokenizer JSON is
    written unchanged. Without `trainer_state` the checkpoint holds weights only: `eval`,
    `generate`, `predict` and `train --from` take it, `train --resume` does not.
    """
    params = model.state_dict()
    entries: Dict[str, Tuple[str, Sequence[int], bytes]] = {}
    for name in parameter_names(model.config):
        entries[f'model.{name}'] = ('F32', list(params[name].shape), tensor_bytes(params[name].float()))
    trainer_json = None
    if trainer_state is not None:
        trainer_json = trainer_state.json
        steps = trainer_json['optimizer']['steps']
        if len(steps) != len(entries) or len(trainer_state.optim) != len(steps):
            raise ValueError(f'encode_checkpoint: optimizer state has {len(steps)} entries for {len(entries)} parameters')
        for i, bufs in enumerate(trainer_state.optim):
            if (bufs is None) != (steps[i] is None):
                raise ValueError(f'encode_checkpoint: parameter {i} has step {steps[i]} but {"no" if bufs is None else "some"} Adam buffers')
            if bufs is not None:
                for j, b in enumerate(bufs):
                    entries[f'optim.{i}.{j}'] = ('F32', [b.numel()], tensor_bytes(b.float()))
        if trainer_json['hasState'] != (trainer_state.state is not None):
            raise ValueError('encode_checkpoint: trainer hasState does not match the state given')
        for k, s in enumerate(trainer_state.state or []):
            entries[f'state.{k}'] = ('F32', list(s.shape), tensor_bytes(s.float()))
    out = {'version': CHECKPOINT_VERSION, 'model': dict(model.config), 'tokenizer': tokenizer_json,
           'trainer': trainer_json, 'extra': meta.get('extra', {})}
    # JSON has no NaN: lstm-wasm writes a NaN loss as null.
    text = json.dumps(_no_nan(out), separators=(',', ':'), ensure_ascii=False, allow_nan=False)
    crc = checkpoint_crc(text, [entries[n][2] for n in sorted(entries)])
    return encode_safetensors(entries, {'format': CHECKPOINT_FORMAT, 'checkpoint': text, 'crc32': crc})


def save_checkpoint(path: str, model: LanguageModelTorch, tokenizer_json: dict, meta: dict, trainer_state: Optional[TrainerState] = None) -> None:
    """`encode_checkpoint`, written atomically (a temporary file, then a rename)."""
    data = encode_checkpoint(model, tokenizer_json, meta, trainer_state)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def _no_nan(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _no_nan(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_no_nan(x) for x in v]
    return v


def generator_state(seed: int) -> list:
    """The state of lstm-wasm's `new Generator(seed)` (xoshiro128** seeded by splitmix32), as a checkpoint writes it."""
    x = ((int(seed) & 0xffffffff) ^ 0x9E3779B9) & 0xffffffff
    s = []
    for _ in range(4):
        x = (x + 0x9E3779B9) & 0xffffffff
        z = x
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & 0xffffffff
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & 0xffffffff
        s.append((z ^ (z >> 16)) & 0xffffffff)
    if not any(s):
        s[0] = 1
    return s + [None]


# --- tokenizers (ts/text/tokenizer.ts) -----------------------------------------------------------

UNK, PAD, BOS, EOS = '<unk>', '<pad>', '<bos>', '<eos>'


class CharTokenizer:
    """One token per code point; `<unk>` for one the vocabulary lacks (decoded as U+FFFD)."""
    level = 'char'

    def __init__(self, vocab: List[str]):
        self.vocab = list(vocab)
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.unk_id = self.index[UNK]

    @property
    def size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> List[int]:
        get, unk = self.index.get, self.unk_id
        return [get(ch, unk) for ch in text]

    def id_of(self, token: str) -> int:
        return self.index.get(token, self.unk_id)

    def decoder(self, context: Sequence[int] = ()):
        return _VocabDecoder(self, context)

    def decode_next(self, i: int, prev: Optional[int]) -> str:
        return '\ufffd' if i == self.unk_id else self.vocab[i]

    def decode(self, ids: Sequence[int]) -> str:
        d = self.decoder()
        return ''.join(d.next(i) for i in ids) + d.end()


# Unicode whitespace as JavaScript's \s has it (Python's \s also takes \x1c-\x1f and not \ufeff).
_JS_SPACE = '\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'
_NO_SPACE_BEFORE = {',', '.', ';', ':', '!', '?', ')', ']', '}', "'", '\u2019', '%'}
_NO_SPACE_AFTER = {'(', '[', '{', '\u2018'}
_word_re = None


def _letter_or_number_class() -> str:
    """A regex class of JavaScript's [\\p{L}\\p{N}] from this Python's Unicode database (re has no \\p{})."""
    ranges, start, prev = [], None, None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] in 'LN':
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    return '[' + ''.join(re.escape(chr(a)) if a == b else f'{re.escape(chr(a))}-{re.escape(chr(b))}' for a, b in ranges) + ']'


def _word_regex():
    global _word_re
    if _word_re is None:
        ln = _letter_or_number_class()
        _word_re = re.compile(rf"\r?\n|{ln}+(?:['\u2019-]{ln}+)*|[^{_JS_SPACE}]")
    return _word_re


class WordTokenizer(CharTokenizer):
    """Words, numbers and single punctuation marks; a line break is `<eos>` (WordTokenizer.split)."""
    level = 'word'

    def __init__(self, vocab: List[str], lowercase: bool = False):
        super().__init__(vocab)
        self.lowercase = lowercase
        self.pad_id, self.bos_id, self.eos_id = self.index[PAD], self.index[BOS], self.index[EOS]

    def split(self, text: str) -> List[str]:
        src = text.lower() if self.lowercase else text
        return [EOS if m in ('\n', '\r\n') else m for m in _word_regex().findall(src)]

    def encode(self, text: str) -> List[int]:
        get, unk = self.index.get, self.unk_id
        return [get(w, unk) for w in self.split(text)]

    def decode_next(self, i: int, prev: Optional[int]) -> str:
        tok = self.vocab[i]
        if i == self.eos_id:
            return '\n'
        if i in (self.pad_id, self.bos_id):
            return ''
        if prev is None or prev in (self.eos_id, self.bos_id, self.pad_id):
            return tok
        if tok in _NO_SPACE_BEFORE or self.vocab[prev] in _NO_SPACE_AFTER:
            return tok
        return ' ' + tok


class _VocabDecoder:
    def __init__(self, tok, context):
        self.tok, self.prev = tok, (context[-1] if len(context) > 0 else None)

    def next(self, i: int) -> str:
        text = self.tok.decode_next(i, self.prev)
        self.prev = i
        return text

    def end(self) -> str:
        return ''


def _byte_token(b: int) -> str:
    return chr(b) if (0x20 <= b < 0x7f) or b in (0x0a, 0x09) else f'<0x{b:02X}>'


BYTE_VOCAB = [_byte_token(b) for b in range(256)]


class ByteTokenizer:
    """One token per byte of the text's UTF-8; no `<unk>`."""
    level = 'byte'
    vocab = BYTE_VOCAB
    size = 256
    unk_id = None

    def encode(self, text: str) -> List[int]:
        return list(text.encode('utf-8'))

    def id_of(self, token: str) -> int:
        return BYTE_VOCAB.index(token)

    def decoder(self, context: Sequence[int] = ()):
        return _ByteDecoder()

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(ids).decode('utf-8', errors='replace')


class _ByteDecoder:
    def __init__(self):
        self.d = codecs.getincrementaldecoder('utf-8')(errors='replace')

    def next(self, i: int) -> str:
        return self.d.decode(bytes([i]))

    def end(self) -> str:
        return self.d.decode(b'', final=True)


def tokenizer_from_json(j: dict):
    """The tokenizer of a checkpoint's `tokenizer` JSON ({type, vocab, lowercase?})."""
    if j['type'] == 'char':
        return CharTokenizer(j['vocab'])
    if j['type'] == 'word':
        return WordTokenizer(j['vocab'], lowercase=j.get('lowercase') is True)
    if j['type'] == 'byte':
        if list(j['vocab']) != BYTE_VOCAB:
            raise ValueError('tokenizer_from_json: a byte vocabulary must be the 256 byte tokens in order')
        return ByteTokenizer()
    raise ValueError(f"tokenizer_from_json: unknown tokenizer type {j['type']!r} (expected 'char', 'word' or 'byte')")


def prime_ids(tok, prime: str) -> List[int]:
    """lstm-wasm's `primeIds`: the prime's ids; an empty prime starts at a line break (char, byte) or `<bos>` (word)."""
    if prime:
        return tok.encode(prime)
    return [tok.id_of(BOS if tok.level == 'word' else '\n')]


def special_ids(tok) -> List[int]:
    """Tokens generation never produces: `<unk>`, `<pad>`, `<bos>` (those in the vocabulary)."""
    return [tok.vocab.index(t) for t in (UNK, PAD, BOS) if t in tok.vocab]


# --- text, scoring, generation -------------------------------------------------------------------

def read_text(paths: Sequence[str]) -> str:
    """The files' UTF-8 text (a BOM dropped; `.gz` gunzipped) joined by line breaks, as `lstm-wasm train` reads them."""
    texts = []
    for p in paths:
        with open(p, 'rb') as f:
            data = f.read()
        if p.endswith('.gz'):
            data = gzip.decompress(data)
        texts.append(data.decode('utf-8-sig'))
    return '\n'.join(texts)


def fingerprint(text: str) -> str:
    """lstm-wasm's `fingerprint`: FNV-1a 32-bit over the text's UTF-16 code units, 8 hex digits."""
    units = text.encode('utf-16-le')
    h = 0x811C9DC5
    for (u,) in struct.iter_unpack('<H', units):
        h = ((h ^ u) * 0x01000193) & 0xffffffff
    return f'{h:08x}'


def train_val_split(ids: List[int], val_fraction: float) -> Tuple[List[int], List[int]]:
    """The training head and the validation tail (the last floor(n * val_fraction) tokens)."""
    n_val = math.floor(len(ids) * val_fraction)
    return ids[:len(ids) - n_val], ids[len(ids) - n_val:]


@torch.no_grad()
def score_tokens(model: LanguageModelTorch, ids: Sequence[int], batch_size: int, seq_len: int, max_windows: int = 0) -> Tuple[float, int]:
    """
    lstm-wasm's `scoreTokens` (ts/lm/evaluate.ts): mean loss per token and tokens scored, B lanes
    each from a zero state in windows of T, the last window of a lane shorter, and with
    max_windows 0 the targets past the last whole lane continuing the last lane.
    """
    was = model.training
    model.eval()
    try:
        n = len(ids)
        T = max(1, min(seq_len, n - 1))
        B = max(1, min(batch_size, (n - 1) // T))
        L = (n - 1) // B
        all_windows = -(-L // T)
        every = not (0 < max_windows < all_windows)
        windows = all_windows if every else max_windows
        rest = n - 1 - B * L if every else 0
        tokens = B * min(L, windows * T) + rest
        data = torch.tensor(ids, dtype=torch.long)
        lanes = torch.arange(B) * L
        state, total = None, 0.0
        for w in range(windows):
            t0, t1 = w * T, min(L, (w + 1) * T)
            pos = lanes.view(1, B) + torch.arange(t0, t1).view(-1, 1)  # (t, B)
            logits, state = model(data[pos], state)
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), data[pos + 1].reshape(-1), reduction='sum').item()
        if rest > 0:
            last = [s[:, B - 1:B].contiguous() for s in state]
            x = data[B * L:B * L + rest].view(-1, 1)
            logits, _ = model(x, last)
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), data[B * L + 1:].reshape(-1), reduction='sum').item()
        return total / tokens, tokens
    finally:
        model.train(was)


@torch.no_grad()
def greedy_ids(model: LanguageModelTorch, prime: Sequence[int], length: int, suppress: Sequence[int] = ()) -> List[int]:
    """`length` token ids after `prime`, each the argmax (lowest id on a tie) of the logits, `suppress` excluded."""
    was = model.training
    model.eval()
    try:
        logits, state = model(torch.tensor(list(prime), dtype=torch.long).view(-1, 1))
        last = logits[-1, 0].clone()
        out = []
        for i in range(length):
            last[list(suppress)] = -math.inf
            nxt = int(torch.argmax(last))
            out.append(nxt)
            if i + 1 < length:
                logits, state = model(torch.tensor([[nxt]]), state)
                last = logits[-1, 0].clone()
        return out
    finally:
        model.train(was)


def greedy_text(model: LanguageModelTorch, tok, prime: str, length: int) -> str:
    """What `lstm-wasm generate --temperature 0 --prime <prime> --length <length>` prints after the prime."""
    ids = prime_ids(tok, prime)
    d = tok.decoder(ids)
    return ''.join(d.next(i) for i in greedy_ids(model, ids, length, special_ids(tok))) + d.end()
