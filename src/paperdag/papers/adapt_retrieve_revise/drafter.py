"""The adapted small model (the paper's domain-adapted 7B drafter, made small): a Llama-config
decoder trained from scratch on the statute book and judgments (continual pre-training analogue),
then on instructions (SFT, loss on the answer only), with a word-level vocabulary of the domain."""

from __future__ import annotations

import math
import re

import torch

from paperdag.core.padding import left_pad

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
PAD, UNK, BOS, EOS = range(4)
_TOKEN = re.compile(r"\w+|[^\w\s]")


class WordTokenizer:
    """Whitespace/punctuation word tokenizer over a closed vocabulary (the domain's words)."""

    def __init__(self, vocab: list[str]):
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts) -> "WordTokenizer":
        words = sorted({w for t in texts for w in _TOKEN.findall(t)})
        return cls(SPECIALS + words)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, UNK) for w in _TOKEN.findall(text)]

    def decode(self, ids) -> str:
        words = [self.vocab[i] for i in ids if i >= len(SPECIALS)]
        s = " ".join(words)
        s = re.sub(r" ([.,:;?!)])", r"\1", s)
        return re.sub(r"\( ", "(", s)

    def __len__(self) -> int:
        return len(self.vocab)


def build_model(vocab_size: int, m: dict, seed: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=m["width"], intermediate_size=m["width"] * 3,
                      num_hidden_layers=m["layers"], num_attention_heads=m["heads"], num_key_value_heads=m["heads"],
                      max_position_embeddings=m["max_len"], tie_word_embeddings=True, pad_token_id=PAD,
                      bos_token_id=BOS, eos_token_id=EOS)
    torch.manual_seed(seed)
    return LlamaForCausalLM(cfg)


def _batches(seqs: list[tuple[list[int], int]], batch: int, gen: torch.Generator, max_len: int):
    """Padded batches (ids, labels) from (ids, n_prompt) pairs: labels -100 on padding and prompt."""
    order = torch.randperm(len(seqs), generator=gen).tolist()
    for s in range(0, len(order), batch):
        chunk = [seqs[i] for i in order[s : s + batch]]
        L = min(max_len, max(len(ids) for ids, _ in chunk))
        ids = torch.full((len(chunk), L), PAD, dtype=torch.long)
        lab = torch.full((len(chunk), L), -100, dtype=torch.long)
        for r, (x, n_prompt) in enumerate(chunk):
            x = x[:L]
            ids[r, : len(x)] = torch.tensor(x)
            lab[r, : len(x)] = torch.tensor(x)
            lab[r, : min(n_prompt, len(x))] = -100
        yield ids, lab


def sequences(tok: WordTokenizer, data: dict, phase: str, article_repeats: int = 3) -> list[tuple[list[int], int]]:
    """Pre-training documents (articles x article_repeats + judgments; loss on every token) or SFT
    pairs (prompt + answer; loss on the answer and EOS)."""
    if phase == "pretrain":
        docs = [a["text"] for a in data["articles"]] * article_repeats + [j["text"] for j in data["judgments"]]
        return [([BOS] + tok.encode(d) + [EOS], 0) for d in docs]
    out = []
    for ex in data["sft"]:
        p = [BOS] + tok.encode(ex["prompt"])
        out.append((p + tok.encode(ex["answer"]) + [EOS], len(p)))
    return out


def train(model, phases: list[tuple[str, list, int]], t: dict, seed: int, resumer=None, log=None):
    """Train through `phases` [(name, sequences, epochs)] with AdamW and a cosine schedule; one
    resumable checkpoint per epoch (epochs counted over all phases)."""
    opt = torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=0.01)
    total_epochs = sum(e for _, _, e in phases)
    steps_per = [math.ceil(len(s) / t["batch"]) for _, s, _ in phases]
    total_steps = sum(n * e for n, (_, _, e) in zip(steps_per, phases))
    start = resumer.restore(model, opt) if resumer else 0
    epoch, step = 0, 0
    model.train()
    for (name, seqs, epochs), n_steps in zip(phases, steps_per):
        for _ in range(epochs):
            if epoch < start:
                epoch, step = epoch + 1, step + n_steps
                continue
            gen = torch.Generator().manual_seed(seed * 1000 + epoch)
            tot, cnt = 0.0, 0
            for ids, lab in _batches(seqs, t["batch"], gen, t["max_len"]):
                lr = t["lr"] * (min(1.0, (step + 1) / max(1, t["warmup"])) * 0.5 * (1 + math.cos(math.pi * step / total_steps)))
                for g in opt.param_groups:
                    g["lr"] = lr
                out = model(input_ids=ids, attention_mask=(ids != PAD).long(), labels=lab)
                opt.zero_grad()
                out.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                tot, cnt, step = tot + float(out.loss.detach()), cnt + 1, step + 1
            epoch += 1
            if log:
                log.info("%s epoch %d/%d: mean loss %.4f", name, epoch, total_epochs, tot / max(1, cnt))
            if resumer:
                resumer.maybe_save(epoch, model, opt)
    model.eval()
    return model


@torch.no_grad()
def generate(model, tok: WordTokenizer, prompts: list[str], max_new: int, batch: int = 32) -> list[str]:
    """Greedy decoding, batched with left padding."""
    outs = []
    for s in range(0, len(prompts), batch):
        enc = [[BOS] + tok.encode(p) for p in prompts[s : s + batch]]
        ids, att = left_pad(enc, PAD)
        L = ids.shape[1]
        g = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=max_new, do_sample=False,
                           pad_token_id=PAD, eos_token_id=EOS)
        for r in range(len(enc)):
            new = g[r, L:].tolist()
            if EOS in new:
                new = new[: new.index(EOS)]
            outs.append(tok.decode(new))
    return outs


@torch.no_grad()
def score(model, tok: WordTokenizer, prompt: str, candidates: list[str]) -> list[float]:
    """Sum log-likelihood of each candidate continuation after `prompt` (the reviser-swap ablation:
    the drafter in the likelihood-scoring reviser's place)."""
    p = [BOS] + tok.encode(prompt)
    seqs = [p + tok.encode(c) for c in candidates]
    L = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), L), PAD, dtype=torch.long)
    for r, x in enumerate(seqs):
        ids[r, : len(x)] = torch.tensor(x)
    logp = torch.log_softmax(model(input_ids=ids, attention_mask=(ids != PAD).long()).logits.float(), -1)
    out = []
    for r, x in enumerate(seqs):
        tgt = torch.tensor(x[len(p) :])
        pos = torch.arange(len(p) - 1, len(x) - 1)
        out.append(float(logp[r, pos, tgt].sum()))
    return out
