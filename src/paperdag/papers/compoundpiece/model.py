"""The ByT5-style byte-level seq2seq (transformers T5, random init): byte ids (ByT5's: byte + 3,
pad 0, eos 1, no tokenizer files), resumable training, greedy decoding."""

from __future__ import annotations

import math

import torch

from paperdag.core.resume import Resumer

PAD, EOS, OFFSET = 0, 1, 3


def encode(text: str, max_len: int) -> list[int]:
    """ByT5's byte ids (byte + 3) + EOS, truncated to max_len (EOS kept), right-padded."""
    ids = [b + OFFSET for b in text.encode("utf-8")][: max_len - 1] + [EOS]
    return ids + [PAD] * (max_len - len(ids))


def decode(ids) -> str:
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i >= OFFSET:
            out.append(i - OFFSET)
    return bytes(out).decode("utf-8", errors="replace")


def build_model(m: dict, seed: int):
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    cfg = T5Config(vocab_size=259 if m.get("vocab_size") is None else m["vocab_size"], d_model=m["d_model"],
                   d_kv=m["d_kv"], d_ff=m["d_ff"], num_layers=m["encoder_layers"],
                   num_decoder_layers=m["decoder_layers"], num_heads=m["heads"], dropout_rate=m["dropout"],
                   feed_forward_proj="gated-gelu", tie_word_embeddings=True, decoder_start_token_id=PAD,
                   pad_token_id=PAD, eos_token_id=EOS)
    return T5ForConditionalGeneration(cfg)


def tensors(pairs: list[tuple[str, str]], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor([encode(a, max_len) for a, _ in pairs], dtype=torch.long)
    y = torch.tensor([encode(b, max_len + 6) for _, b in pairs], dtype=torch.long)
    return x, y


def train(model, pairs: list[tuple[str, str]], t: dict, seed: int, resume_dir, tag: str, log,
          valid_fn=None) -> dict:
    """Train on (input, target) pairs for t['steps'] steps of t['batch_size'] (sampled with a generator
    seeded by (seed, chunk), so a resumed run draws the same batches); AdamW, linear warmup then
    linear decay; checkpoints every t['checkpoint_every'] steps (resumes after kill -9). `valid_fn(model)`
    (a validation accuracy), when given, is recorded after every t['valid_every'] checkpoints and at
    the end: the curve that shows whether training has plateaued."""
    X, Y = tensors(pairs, t["max_len"])
    steps, bs, every = t["steps"], t["batch_size"], max(1, t["checkpoint_every"])
    opt = torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])
    warm = max(1, int(t["warmup_frac"] * steps))

    def lr_at(s):
        return t["lr"] * min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))

    hist = {"loss": [], "valid": []}
    vevery = max(1, int(t.get("valid_every", 1)))
    resumer = Resumer(resume_dir, tag, every=1)
    chunks = math.ceil(steps / every)
    start = resumer.restore(model, opt, extra=hist)
    model.train()
    for c in range(start, chunks):
        g = torch.Generator().manual_seed(seed * 100003 + c)
        idx = torch.randint(len(X), (every, bs), generator=g)
        run = 0.0
        for i in range(every):
            s = c * every + i
            if s >= steps:
                break
            for gr in opt.param_groups:
                gr["lr"] = lr_at(s)
            x, y = X[idx[i]], Y[idx[i]]
            # trim padding columns (speed), mask padded labels
            x = x[:, : int((x != PAD).sum(1).max())]
            y = y[:, : int((y != PAD).sum(1).max())]
            labels = y.masked_fill(y == PAD, -100)
            loss = model(input_ids=x, attention_mask=(x != PAD).long(), labels=labels).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            run += float(loss.detach())
        hist["loss"].append(round(run / every, 4))
        log.info("%s: steps %d/%d loss %.4f", tag, min(steps, (c + 1) * every), steps, hist["loss"][-1])
        if valid_fn is not None and ((c + 1) % vevery == 0 or c + 1 == chunks):
            acc = float(valid_fn(model))
            model.train()
            hist["valid"].append([min(steps, (c + 1) * every), round(acc, 4)])
            log.info("%s: validation accuracy %.4f", tag, acc)
        resumer.save(c + 1, model, opt, extra=hist)
    model.eval()
    return {"resumer": resumer, "loss": hist["loss"], "valid": hist.get("valid", [])}


@torch.no_grad()
def generate(model, words: list[str], max_len: int, batch_size: int = 256) -> list[str]:
    """Greedy decoding (the paper decodes with beam 4 at full scale)."""
    model.eval()
    out = []
    for i in range(0, len(words), batch_size):
        chunk = words[i:i + batch_size]
        x = torch.tensor([encode(w, max_len) for w in chunk], dtype=torch.long)
        x = x[:, : int((x != PAD).sum(1).max())]
        gen = model.generate(input_ids=x, attention_mask=(x != PAD).long(), max_new_tokens=max_len + 6,
                             do_sample=False, num_beams=1)
        out += [decode(g[1:]) for g in gen]
    return out


def load_hub(m: dict):
    """A pretrained ByT5 checkpoint by hub id (or a local folder of one): the paper scale."""
    from transformers import T5ForConditionalGeneration

    return T5ForConditionalGeneration.from_pretrained(m["hub_id"])
