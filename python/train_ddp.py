"""
Continues an lstm-wasm checkpoint on a text with PyTorch DistributedDataParallel (gloo, CPU), and
saves an lstm-wasm checkpoint that `lstm-wasm generate`, `eval` and `train --resume` take.

    torchrun --nproc_per_node 2 --redirects 1 --tee 1 python/train_ddp.py \
        --checkpoint lm.safetensors --text corpus.txt --steps 200 --out lm-ddp.safetensors

(`--redirects 1 --tee 1`: Debian's torch 1.13 on Python 3.11 cannot parse torchrun's default "0",
nor "3": Python 3.11's IntFlag no longer lists its 0 and multi-bit members, so torchrun's
`to_std` returns None and `to_map` fails on `None.get`. 1 tees each worker's stdout with a
`[default<rank>]:` prefix; stderr is not redirected.) On several machines: the same command on each,
with torchrun's rendezvous flags (`--nnodes 2 --node_rank <i> --master_addr <host> --master_port <port>`,
or `--rdzv_backend c10d --rdzv_endpoint <host:port>`).

A step is `lstm-wasm train`'s step (ts/training/trainer.ts, ts/parallel/steps.ts): window w of the
B lanes (the text cut into B contiguous lanes, LMBatcher), the state carried from window w - 1
(zeros at window 0, and for lane b whenever (w + b) % 8 == 0), loss = mean cross-entropy over the
T*B targets, backward, clip the global gradient norm to --clip, Adam (betas 0.9, 0.999, eps 1e-8).

--batch is the global batch: the B lanes are split across the N processes in contiguous ranges
(sizes differ by at most one, as lstm-wasm's --threads splits them) and each process carries the
state of its own lanes. Each process scales its summed loss by N / (T*B), so DDP's mean of the
gradients is exactly the gradient of the mean over all T*B targets: N processes together take the
step `lstm-wasm train --batch B` takes, up to float summation order. More processes make a step
faster; they do not make it bigger (raise --batch with --fine-tune for that).

Without --fine-tune the run continues the checkpoint's run: the same text (its fingerprint is
checked, as `train --resume` checks it), the checkpoint's settings (a flag that contradicts one is
an error), Adam's moments and step counts, the batcher's position and the carried state. With
--fine-tune it starts a new run from the checkpoint's weights: a new Adam (lr 0.001 unless given),
window 0 of the text, the given or default --batch/--seq/--clip/--val-split (as `train --from`).

What cannot be carried: lstm-wasm's dropout stream. Dropout masks here come from torch's generator
(seeded by --seed, the rank and the step); the checkpoint's lstm-wasm generator state is written
back as it was read (with --fine-tune: the state `new Generator(seed)` has), so a resumed
`lstm-wasm train` draws the masks it would have drawn next. With dropout 0 nothing is lost.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstm_wasm_torch as lw  # noqa: E402

# lstm-wasm's training settings (ts/training/settings.ts): name -> (key in older checkpoints, default).
SETTINGS = {
    'level': ('level', 'char'), 'maxVocab': ('max-vocab', 10000), 'cell': ('model', 'lstm'), 'embedDim': ('embed', 32),
    'hiddenSize': ('hidden', 128), 'numLayers': ('layers', 1), 'dropout': ('dropout', 0), 'seqLen': ('seq', 64),
    'batchSize': ('batch', 32), 'lr': ('lr', 3e-3), 'clip': ('clip', 1), 'valSplit': ('val-split', 0.05), 'seed': ('seed', 1),
}
# The flags of this script that are settings, as `lstm-wasm train` spells them.
FLAG_SETTINGS = {'batch': 'batchSize', 'seq': 'seqLen', 'lr': 'lr', 'clip': 'clip', 'val_split': 'valSplit', 'seed': 'seed'}
FINE_TUNE_LR = 1e-3
RESET_EVERY = 8   # LMTrainer's resetEvery
EVAL_WINDOWS = 16  # LMTrainer's evalWindows: the validation estimate the loss history keeps
BUNDLED_CORPUS_LABEL = 'bundled corpus: King James Bible (corpus/kjv.txt.gz)'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint', required=True, help='the lstm-wasm checkpoint to continue')
    p.add_argument('--text', nargs='+', help="the training text file(s), joined by line breaks as 'lstm-wasm train' joins them "
                   "(.gz is gunzipped); default: the repository's corpus/kjv.txt.gz when the checkpoint was trained on it")
    p.add_argument('--out', help='the checkpoint to write (default: --checkpoint, as train --resume does)')
    p.add_argument('--steps', type=int, help='steps of this run')
    p.add_argument('--epochs', type=float, help='epochs of this run (fractions allowed); the first limit reached stops it')
    p.add_argument('--fine-tune', action='store_true', help='a new run from the weights: new Adam, window 0, these settings')
    p.add_argument('--batch', type=int, help='global batch B (lanes), split across the processes')
    p.add_argument('--seq', type=int, help='window length T of truncated BPTT')
    p.add_argument('--lr', type=float, help='Adam learning rate')
    p.add_argument('--clip', type=float, help='max global gradient norm, 0 = off')
    p.add_argument('--val-split', type=float, help='fraction of the text held out for validation')
    p.add_argument('--seed', type=int, help='seed (here: of the dropout masks)')
    p.add_argument('--log-every', type=int, default=10, help='print the loss every n steps (default 10)')
    a = p.parse_args(argv)
    if a.steps is None and a.epochs is None:
        p.error('give --steps or --epochs')
    for k in ('steps', 'batch', 'seq', 'log_every'):
        v = getattr(a, k)
        if v is not None and v < 1:
            p.error(f"--{k.replace('_', '-')} must be an integer >= 1, got {v}")
    if a.epochs is not None and not a.epochs > 0:
        p.error(f'--epochs must be > 0, got {a.epochs}')
    return a


def stored_settings(meta: dict) -> dict:
    """The checkpoint's settings (`extra.settings`, by name or older flag key; defaults for the rest), its model shape."""
    stored = (meta.get('extra') or {}).get('settings') or {}
    out = {k: stored.get(k, stored.get(old, default)) for k, (old, default) in SETTINGS.items()}
    c = meta['model']
    out.update(level=meta['tokenizer']['type'], cell=c['cell'], embedDim=c['embedDim'], hiddenSize=c['hiddenSize'],
               numLayers=c['numLayers'], dropout=c['dropout'])
    return out


def run_settings(a, ck: lw.Checkpoint) -> dict:
    """The settings of this run: the checkpoint's (resume; a contradicting flag is an error) or the flags' (fine-tune)."""
    s = stored_settings(ck.meta)
    given = {name: getattr(a, flag) for flag, name in FLAG_SETTINGS.items() if getattr(a, flag) is not None}
    if a.fine_tune:
        s.update({k: SETTINGS[k][1] for k in ('seqLen', 'batchSize', 'clip', 'valSplit', 'seed')}, lr=FINE_TUNE_LR)
        s.update(given)
        return s
    if ck.trainer is None:
        raise SystemExit(f'{a.checkpoint}: the checkpoint has no training state to continue (it holds weights only); use --fine-tune')
    for name, v in given.items():
        if v != s[name]:
            flag = SETTINGS[name][0]
            raise SystemExit(f'--{flag} {v} does not match the checkpoint {a.checkpoint} (trained with --{flag} {s[name]}); '
                             f'drop the flag to continue with the checkpoint\'s settings, or use --fine-tune')
    return s


def text_paths(a, meta: dict):
    if a.text:
        return a.text, a.text
    sources = ((meta.get('extra') or {}).get('data') or {}).get('sources')
    if sources == [BUNDLED_CORPUS_LABEL]:
        return [os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'kjv.txt.gz')], sources
    raise SystemExit(f'give --text: the checkpoint was trained on {", ".join(sources or ["an unrecorded text"])}')


def lane_ranges(B: int, n: int):
    """lstm-wasm's laneRanges: the lanes [start, end) of each of n replicas."""
    return [((r * B) // n, ((r + 1) * B) // n) for r in range(n)]


def main(argv=None) -> int:
    a = parse_args(argv)
    t_setup = time.perf_counter()
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    log = (lambda *m: print(*m, flush=True)) if rank == 0 else (lambda *m: None)

    ck = lw.read_checkpoint(a.checkpoint)
    if ck.meta.get('quantization') is not None and not a.fine_tune:
        raise SystemExit(f"{a.checkpoint}: a quantized model ({ck.meta['quantization']}) has no training state; use --fine-tune (it is dequantized)")
    s = run_settings(a, ck)
    paths, sources = text_paths(a, ck.meta)
    text = lw.read_text(paths)
    record = {'sources': sources, 'fingerprint': lw.fingerprint(text), 'chars': len(text)}
    was = (ck.meta.get('extra') or {}).get('data')
    if not a.fine_tune and was is not None and was['fingerprint'] != record['fingerprint']:
        raise SystemExit(f"{a.checkpoint}: the checkpoint was trained on other text ({', '.join(was['sources'])}); "
                         'pass the same file(s) to continue, or use --fine-tune')

    tok = lw.tokenizer_from_json(ck.meta['tokenizer'])
    ids = tok.encode(text)
    train_ids, val_ids = lw.train_val_split(ids, s['valSplit'])
    B, T = s['batchSize'], s['seqLen']
    L = max(0, len(train_ids) - 1) // B
    windows_per_epoch = L // T
    if windows_per_epoch == 0:
        raise SystemExit(f'training text: {len(train_ids)} tokens are too few for batch {B} x seq {T} (need at least {B * T + 1})')
    if world > B:
        raise SystemExit(f'{world} processes are more than --batch {B}: each process needs a lane')
    b0, b1 = lane_ranges(B, world)[rank]

    model = lw.model_from_checkpoint(ck).train()
    params = list(model.parameters())
    names = lw.parameter_names(model.config)
    assert [n for n, _ in model.named_parameters()] == names, 'parameter order differs from lstm-wasm'
    tj = ck.trainer.json if (ck.trainer is not None and not a.fine_tune) else None
    betas = tuple(tj['optimizer']['betas']) if tj else (0.9, 0.999)
    eps = tj['optimizer']['eps'] if tj else 1e-8
    lr = tj['optimizer']['lr'] if tj else s['lr']
    optimizer = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=0.0)
    state = None
    step0, epoch, window = 0, 0, 0
    if tj is not None:
        for p, steps_done, bufs in zip(params, tj['optimizer']['steps'], ck.trainer.optim):
            if steps_done is not None:
                optimizer.state[p] = {'step': torch.tensor(float(steps_done)), 'exp_avg': bufs[0].view_as(p).clone(),
                                      'exp_avg_sq': bufs[1].view_as(p).clone()}
        step0, epoch, window = tj['step'], tj['position']['epoch'], tj['position']['window']
        if window >= windows_per_epoch:
            raise SystemExit(f'{a.checkpoint}: its position (window {window}) is past this text\'s {windows_per_epoch} windows per epoch')
        if ck.trainer.state is not None:
            state = [t[:, b0:b1].contiguous() for t in ck.trainer.state]
    ddp = DistributedDataParallel(model)

    max_steps = min(a.steps if a.steps is not None else math.inf,
                    max(1, round(a.epochs * windows_per_epoch)) if a.epochs is not None else math.inf)
    data = torch.tensor(train_ids, dtype=torch.long)
    lanes = torch.arange(b0, b1) * L  # start of each of this process's lanes
    lane_ids = torch.arange(b0, b1)
    scale = world / (T * B)
    log(f'train_ddp: {", ".join(sources)}: {len(text):,} chars -> {len(ids):,} {s["level"]} tokens; train {len(train_ids):,}, validation {len(val_ids):,}')
    log(f'  {s["cell"].upper()} embed {s["embedDim"]}, hidden {s["hiddenSize"]} x {s["numLayers"]}, dropout {s["dropout"]}; '
        f'batch {B} x seq {T} ({windows_per_epoch} steps/epoch), Adam lr {lr}, clip {s["clip"]}; '
        f'{"fine-tuning" if a.fine_tune else f"continuing at step {step0}"}, {max_steps} steps')
    log(f'  {world} processes (gloo), {B // world}{"-" + str(B // world + 1) if B % world else ""} lanes each, '
        f'{torch.get_num_threads()} torch thread(s) each; set up in {time.perf_counter() - t_setup:.1f} s')
    torch.manual_seed(s['seed'] * 1_000_003 + step0 * 1009 + rank)  # dropout masks: torch's, not lstm-wasm's
    losses = []
    t_start = time.perf_counter()
    done = 0
    while done < max_steps:
        w = window
        if w == 0:
            state = None  # an epoch starts from zeros
        elif state is not None and RESET_EVERY > 0:
            due = ((w + lane_ids) % RESET_EVERY == 0).nonzero().view(-1)
            for t in state:
                t[:, due] = 0
        pos = lanes.view(1, -1) + torch.arange(w * T, w * T + T).view(-1, 1)  # (T, b1 - b0)
        logits, next_state = ddp(data[pos], state)
        loss_sum = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), data[pos + 1].reshape(-1), reduction='sum')
        optimizer.zero_grad(set_to_none=False)
        (loss_sum * scale).backward()  # DDP averages over the processes: the gradient of the global mean
        if s['clip'] > 0:
            torch.nn.utils.clip_grad_norm_(params, s['clip'])
        optimizer.step()
        state = [t.detach() for t in next_state]
        total = loss_sum.detach().clone()
        dist.all_reduce(total)
        losses.append(total.item() / (T * B))
        done += 1
        window += 1
        if window == windows_per_epoch:
            window, epoch = 0, epoch + 1
        if done % a.log_every == 0 or done == max_steps:
            recent = losses[-a.log_every:]
            ms = (time.perf_counter() - t_start) * 1000 / done
            log(f'step {step0 + done}  loss {sum(recent) / len(recent):.4f}  {ms:.0f} ms/step  {T * B * 1000 / ms:,.0f} tokens/s')
    run_ms = (time.perf_counter() - t_start) * 1000

    # The carried state of every lane, on every process (gloo's all_gather wants equal sizes: pad to the widest range).
    width = max(e - b for b, e in lane_ranges(B, world))
    full_state = []
    for t in state:
        padded = torch.zeros(t.shape[0], width, t.shape[2])
        padded[:, :t.shape[1]] = t
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded)
        full_state.append(torch.cat([parts[r][:, :e - b] for r, (b, e) in enumerate(lane_ranges(B, world))], dim=1))

    if rank == 0:
        model.eval()
        val_points = list(tj['val']) if tj else []
        if len(val_ids) - 1 >= T:
            val_batch = max(1, min(B, (len(val_ids) - 1) // T))
            quick, _ = lw.score_tokens(model, val_ids, val_batch, T, EVAL_WINDOWS)
            full, n_scored = lw.score_tokens(model, val_ids, B, T, 0)
            elapsed = (tj['elapsedMs'] if tj else 0) + run_ms
            val_points.append({'step': step0 + done, 'valLoss': quick, 'elapsedMs': round(elapsed)})
            log(f'validation loss {full:.4f} (perplexity {math.exp(full):.2f}) on all {n_scored:,} held-out tokens')
        steps_per_param = [int(optimizer.state[p]['step']) if p in optimizer.state else None for p in params]
        trainer_json = {
            'step': step0 + done,
            'position': {'epoch': epoch, 'window': window},
            'rng': tj['rng'] if tj else lw.generator_state(s['seed']),
            **({'replicaRng': tj['replicaRng']} if tj and 'replicaRng' in tj else {}),
            'optimizer': {'type': 'adam', 'lr': optimizer.param_groups[0]['lr'], 'betas': list(betas), 'eps': eps, 'steps': steps_per_param},
            'losses': (list(tj['losses']) if tj else []) + [math.floor(l * 1e4 + 0.5) / 1e4 for l in losses],
            'val': val_points,
            'elapsedMs': round((tj['elapsedMs'] if tj else 0) + run_ms),
            'hasState': True,
        }
        optim = [(optimizer.state[p]['exp_avg'].reshape(-1), optimizer.state[p]['exp_avg_sq'].reshape(-1)) if p in optimizer.state else None
                 for p in params]
        stored = {k: s[k] for k in SETTINGS}
        extra = dict(ck.meta.get('extra') or {}, settings=stored, data=record)
        out = a.out or a.checkpoint
        lw.save_checkpoint(out, model, ck.meta['tokenizer'], {'extra': extra}, lw.TrainerState(trainer_json, optim, full_state))
        log(f'done: {done} steps in {run_ms / 1000:.1f} s, step {step0 + done} in total; checkpoint: {out}')
        log(f'  continue: npx lstm-wasm train --resume {out} {" ".join(paths) if a.text else ""}'.rstrip())
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == '__main__':
    sys.exit(main())
