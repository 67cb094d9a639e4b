"""Tiny decoder LMs for cogex: a word-piece-like regex tokenizer (lossless: decode(encode(s)) == s),
a Llama-architecture causal LM from a `transformers` config (random init), a masked-loss trainer
(loss on the completion only) with resumable checkpoints, and batched generation (left padding, KV
cache, greedy or seeded sampling). The `paper` scale swaps in a hub checkpoint + peft LoRA
(`load_paper_model`), sharing the trainer and the generator."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import numpy as np
import torch

PIECE = re.compile(r">>>|###|[A-Za-z_]+|\d|\n *| |[^\sA-Za-z\d_]|\s")
SPECIALS = ("<pad>", "<eos>", "<bos>")


class Tokenizer:
    """Pieces (regex above) seen at least `min_count` times in the corpus, plus every printable
    ASCII character as a fallback, so any text encodes losslessly."""

    def __init__(self, vocab: list[str]):
        self.vocab = list(vocab)
        self.index = {p: i for i, p in enumerate(self.vocab)}
        self.pad_id, self.eos_id, self.bos_id = 0, 1, 2
        self.stop_program_id = self.index.get(">>>")

    @classmethod
    def build(cls, texts, min_count: int = 2) -> "Tokenizer":
        counts = Counter(p for t in texts for p in PIECE.findall(t))
        chars = [chr(c) for c in range(32, 127)] + ["\n"]
        pieces = sorted(p for p, c in counts.items() if c >= min_count and p not in chars)
        return cls(list(SPECIALS) + chars + [">>>", "###"] + [p for p in pieces if p not in (">>>", "###")])

    def encode(self, text: str) -> list[int]:
        ids = []
        for p in PIECE.findall(text):
            i = self.index.get(p)
            if i is not None:
                ids.append(i)
            else:
                ids.extend(self.index.get(c, self.index["?"]) for c in p)
        return ids

    def decode(self, ids) -> str:
        return "".join(self.vocab[i] for i in ids if i >= len(SPECIALS))

    def to_json(self) -> str:
        return json.dumps({"vocab": self.vocab})

    @classmethod
    def from_json(cls, text: str) -> "Tokenizer":
        return cls(json.loads(text)["vocab"])


def build_model(vocab_size: int, m: dict, seed: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size, hidden_size=m["d_model"], intermediate_size=m["d_ff"],
        num_hidden_layers=m["layers"], num_attention_heads=m["heads"], num_key_value_heads=m["heads"],
        max_position_embeddings=m["max_len"], tie_word_embeddings=True, pad_token_id=0, bos_token_id=2,
        eos_token_id=1,
    )
    return LlamaForCausalLM(cfg)


def encode_pairs(tok, pairs, max_len: int, bos: bool = True):
    """(prompt, completion) -> (ids, n_prompt) with <bos> + prompt + completion + <eos>; pairs
    longer than max_len are dropped (counted)."""
    out, dropped = [], 0
    for prompt, completion in pairs:
        p = ([tok.bos_id] if bos else []) + tok.encode(prompt)
        c = tok.encode(completion) + [tok.eos_id]
        if len(p) + len(c) > max_len:
            dropped += 1
            continue
        out.append((p + c, len(p)))
    return out, dropped


def _batch(examples, idx, pad_id):
    L = max(len(examples[i][0]) for i in idx)
    ids = torch.full((len(idx), L), pad_id, dtype=torch.long)
    labels = torch.full((len(idx), L), -100, dtype=torch.long)
    mask = torch.zeros((len(idx), L), dtype=torch.long)
    for r, i in enumerate(idx):
        seq, npr = examples[i]
        ids[r, : len(seq)] = torch.tensor(seq)
        labels[r, npr: len(seq)] = torch.tensor(seq[npr:])
        mask[r, : len(seq)] = 1
    return ids, labels, mask


def mean_loss(model, examples, pad_id, batch: int = 64) -> float:
    model.eval()
    tot, cnt = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(examples), batch):
            idx = list(range(s, min(s + batch, len(examples))))
            ids, labels, mask = _batch(examples, idx, pad_id)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            lab = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1), ignore_index=-100, reduction="sum")
            tot += float(loss)
            cnt += int((lab != -100).sum())
    model.train()
    return tot / max(cnt, 1)


def train(model, examples, val, t: dict, seed: int, pad_id: int, resumer=None, log=None) -> dict:
    """AdamW, linear warm-up then cosine decay, loss on completions only. The batch of step s is
    drawn from a generator seeded by (seed, s), so a resumed run is identical. Keeps the weights of
    the lowest validation loss (evaluated `evals` times), as the paper keeps the lowest-perplexity
    checkpoint."""
    steps, bs = t["steps"], t["batch"]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=t["lr"], weight_decay=t.get("weight_decay", 0.0), betas=(0.9, 0.98))
    warm = max(1, int(t.get("warmup", 0.05) * steps))
    sched = lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))  # noqa: E731
    extra = {"best_val": float("inf"), "history": []}
    start = resumer.restore(model, opt, extra) if resumer else 0
    best_path = None if resumer is None else resumer.path.with_name(resumer.path.stem + "-best.safetensors")
    eval_every = max(1, steps // max(1, t.get("evals", 4)))
    model.train()
    for s in range(start, steps):
        rng = np.random.default_rng([seed, s])
        idx = rng.choice(len(examples), size=min(bs, len(examples)), replace=False).tolist()
        ids, labels, mask = _batch(examples, idx, pad_id)
        for g in opt.param_groups:
            g["lr"] = t["lr"] * sched(s)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        done = s + 1
        if done % eval_every == 0 or done == steps:
            v = mean_loss(model, val, pad_id)
            extra["history"].append([done, float(loss.detach()), v])
            if log:
                log.info("step %d/%d loss %.4f val %.4f", done, steps, float(loss.detach()), v)
            if v < extra["best_val"]:
                extra["best_val"] = v
                extra["best_step"] = done
                if best_path is not None:
                    from paperdag.core.io import save_tensors

                    save_tensors(best_path, {k: v.detach().clone() for k, v in model.state_dict().items()})
                else:
                    extra["_best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if resumer:
                resumer.save(done, model, opt, {k: v for k, v in extra.items() if not k.startswith("_")})
    if best_path is not None and best_path.exists():
        from paperdag.core.io import load_tensors

        model.load_state_dict(load_tensors(best_path))  # removed by the caller once its output is written
    elif "_best_state" in extra:
        model.load_state_dict(extra.pop("_best_state"))
    return {k: v for k, v in extra.items() if not k.startswith("_")}


def generate(model, tok, prompts: list[str], *, max_new: int, batch: int = 64, temperature: float = 0.0,
             seed: int = 0, stop_ids=(), bos: bool = True) -> list[str]:
    """Batched continuation of each prompt (left padding, KV cache); greedy when temperature == 0,
    else sampling with torch seeded by (seed, batch index). Stops at <eos> or any of `stop_ids`;
    returns the decoded continuations (stop token excluded)."""
    model.eval()
    outs: list[str] = [""] * len(prompts)
    enc = [([tok.bos_id] if bos else []) + tok.encode(p) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(enc[i]))  # similar lengths share a batch
    eos = [tok.eos_id] + [s for s in stop_ids if s is not None]
    with torch.no_grad():
        for b, s in enumerate(range(0, len(order), batch)):
            idx = order[s: s + batch]
            L = max(len(enc[i]) for i in idx)
            ids = torch.full((len(idx), L), tok.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), L), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, L - len(enc[i]):] = torch.tensor(enc[i])
                mask[r, L - len(enc[i]):] = 1
            kw = {"do_sample": False}
            if temperature > 0:
                torch.manual_seed(int(seed) * 100003 + b)
                kw = {"do_sample": True, "temperature": float(temperature), "top_k": 0, "top_p": 1.0}
            g = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, pad_token_id=tok.pad_id,
                               eos_token_id=eos, **kw)
            for r, i in enumerate(idx):
                new = g[r, L:].tolist()
                cut = next((j for j, t in enumerate(new) if t in eos), len(new))
                outs[i] = tok.decode(new[:cut])
    return outs


class HFTokenizer:
    """The same interface over a Hugging Face tokenizer (paper scale)."""

    def __init__(self, hf):
        self.hf = hf
        self.pad_id = hf.pad_token_id if hf.pad_token_id is not None else hf.eos_token_id
        self.eos_id, self.bos_id = hf.eos_token_id, hf.bos_token_id if hf.bos_token_id is not None else hf.eos_token_id
        self.stop_program_id = None
        self.vocab = [None] * len(hf)

    def encode(self, text: str) -> list[int]:
        return self.hf(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids) -> str:
        return self.hf.decode(ids, skip_special_tokens=True)


def load_paper_model(model_id: str, lora: dict, dtype: str = "float32"):
    """A hub (or local save_pretrained) causal LM with LoRA adapters on q, k, v, o (the paper's
    recipe: r=16, dropout 0.05), and its tokenizer."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoTokenizer.from_pretrained(model_id)
    model = AutoModelForCausalLM.from_pretrained(model_id, dtype=getattr(torch, dtype))
    cfg = LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                     target_modules=list(lora["targets"]), task_type="CAUSAL_LM")
    return get_peft_model(model, cfg), HFTokenizer(hf)
