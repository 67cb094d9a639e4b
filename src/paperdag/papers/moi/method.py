"""The training strategies of MoI, as pure functions on token ids: rendering an instruction with a
system prompt, the three samplers (one example per sequence, random packing, balanced packing), the
default-prompt-first re-ordering, the attention masks (full causal "no mask", per-instruction
"isolated", per-chunk "chunk"), position ids and the loss.

A training row is a list of chunks; a chunk is an optional prefix (the default system prompt, under
the default-first rule) followed by instructions. Position ids are continuous inside a chunk and
restart at 0 at every chunk boundary, for every strategy (fixed across strategies, notes §5).
The masks are 4-D additive float masks (0 = may attend, dtype minimum = may not), shape
(batch, 1, L, L); transformers (5.x) passes a 4-D mask to the attention unchanged.

Choices the paper does not state (README): a chunk holds n_mix = one instruction per domain; the
default prompt opens each chunk (not only the row); the loss is the mean over instructions of each
instruction's mean response-token loss (notes §1.3), the same for every strategy."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from . import tasks

MASKS = ("causal", "chunk", "isolated")
SAMPLINGS = ("sequence", "random", "balanced")


@dataclass
class Rendered:
    ids: list          # token ids of the whole instruction (system prompt, every turn)
    labels: list       # 1 where the token is a response token (trained), else 0
    final: tuple       # (start, end) of the last response (its tokens and the end token): evaluated


class WordRenderer:
    """The tiny models' chat format on the word vocabulary of tasks.py:
    `<sys> prompt <user> words <asst> response <eos> <user> ... <eos>`."""

    pad_id = tasks.PAD

    def system_block(self, system: str) -> list:
        return [tasks.SYS] + tasks.encode(system)

    def render(self, system: str, turns: list) -> Rendered:
        ids = self.system_block(system)
        labels = [0] * len(ids)
        final = (0, 0)
        for t in turns:
            u = [tasks.USER] + tasks.encode(t["user"]) + [tasks.ASST]
            a = tasks.encode(t["assistant"]) + [tasks.EOS]
            ids += u
            labels += [0] * len(u)
            final = (len(ids), len(ids) + len(a))
            ids += a
            labels += [1] * len(a)
        return Rendered(ids, labels, final)


class ChatTemplateRenderer:
    """A Hugging Face tokenizer's chat template (the `paper` scale: Qwen's ChatML). The response
    span of each assistant turn is the difference between the template rendered up to the
    generation prompt and rendered with the turn."""

    def __init__(self, tok):
        self.tok = tok
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def _ids(self, messages, gen: bool) -> list:
        out = self.tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=gen)
        if hasattr(out, "keys"):
            out = out["input_ids"]
        return list(out)

    def system_block(self, system: str) -> list:
        return self._ids([{"role": "system", "content": system}], False)

    def render(self, system: str, turns: list) -> Rendered:
        msgs = [{"role": "system", "content": system}]
        ids, labels, final = [], [], (0, 0)
        for t in turns:
            msgs.append({"role": "user", "content": t["user"]})
            pre = self._ids(msgs, True)
            msgs.append({"role": "assistant", "content": t["assistant"]})
            full = self._ids(msgs, False)
            labels += [0] * (len(pre) - len(ids)) + [1] * (len(full) - len(pre))
            final = (len(pre), len(full))
            ids = full
        return Rendered(ids, labels, final)


def system_for(strategy: dict, domain: str) -> str:
    return tasks.PROMPTS[domain] if strategy["prompts"] == "domain" else tasks.PROMPTS["default"]


# -- samplers: which instructions go into which chunk ---------------------------------------------
def _cycle(n: int, rng: random.Random):
    """Endless epoch-wise shuffles of range(n) (small domains are re-used: sampling with replacement
    across epochs)."""
    while True:
        order = list(range(n))
        rng.shuffle(order)
        yield from order


def schedule(sizes: dict, sampling: str, steps: int, per_step: int, n_mix: int, seed: int) -> list:
    """For each step, a list of chunks, each a list of (domain, index). `per_step` instructions per
    step for every strategy (the same data budget); `sequence` makes one instruction per chunk."""
    rng = random.Random(seed)
    domains = list(tasks.DOMAINS)
    out = []
    if sampling == "balanced":
        streams = {d: _cycle(sizes[d], random.Random(rng.random())) for d in domains}
        for _ in range(steps):
            chunks = []
            for _ in range(per_step // len(domains)):
                order = domains[:]
                rng.shuffle(order)
                chunks.append([(d, next(streams[d])) for d in order])
            out.append(chunks)
        return out
    union = [(d, i) for d in domains for i in range(sizes[d])]
    stream = _cycle(len(union), random.Random(rng.random()))
    width = 1 if sampling == "sequence" else n_mix
    for _ in range(steps):
        flat = [union[next(stream)] for _ in range(per_step)]
        out.append([flat[k : k + width] for k in range(0, per_step, width)])
    return out


# -- rows, masks, positions -----------------------------------------------------------------------
@dataclass
class Row:
    ids: list
    labels: list
    chunk: list      # chunk index of each token
    segment: list    # instruction index of each token (prefix tokens: their own segment)
    pos: list        # position ids (restart at every chunk)
    inst: list       # instruction index of each token for the loss (-1: not an instruction token)


def build_row(chunks: list, prefix: list | None) -> Row:
    """chunks: list of lists of Rendered. `prefix`: token ids opening every chunk (default-first)."""
    r = Row([], [], [], [], [], [])
    seg = 0
    inst = 0
    for c, insts in enumerate(chunks):
        p = 0
        if prefix:
            n = len(prefix)
            r.ids += prefix
            r.labels += [0] * n
            r.chunk += [c] * n
            r.segment += [seg] * n
            r.inst += [-1] * n
            r.pos += list(range(p, p + n))
            p += n
            seg += 1
        for x in insts:
            n = len(x.ids)
            r.ids += x.ids
            r.labels += x.labels
            r.chunk += [c] * n
            r.segment += [seg] * n
            r.inst += [inst] * n
            r.pos += list(range(p, p + n))
            p += n
            seg += 1
            inst += 1
    return r


def allowed(chunk, segment, mask: str) -> torch.Tensor:
    """Boolean (L, L): query i may attend key j. causal: j <= i over the whole row (the "no mask"
    of the paper); chunk: j <= i inside the same chunk; isolated: j <= i inside the same
    instruction (or prefix)."""
    chunk = torch.as_tensor(chunk)
    segment = torch.as_tensor(segment)
    L = len(chunk)
    ok = torch.ones(L, L, dtype=torch.bool).tril()
    if mask == "chunk":
        ok &= chunk[:, None] == chunk[None, :]
    elif mask == "isolated":
        ok &= segment[:, None] == segment[None, :]
    elif mask != "causal":
        raise ValueError(f"mask '{mask}': expected one of {MASKS}")
    return ok


def collate(rows: list, mask: str, pad_id: int, length: int | None = None, dtype=torch.float32) -> dict:
    """Right-padded batch: input_ids, position_ids, the 4-D additive mask, labels and the
    instruction index of every label (for the per-instruction loss; instruction indices made unique
    across the batch). Padding keys are masked for every query; a padding query attends to itself."""
    L = length or max(len(r.ids) for r in rows)
    B = len(rows)
    ids = torch.full((B, L), pad_id, dtype=torch.long)
    pos = torch.zeros((B, L), dtype=torch.long)
    lab = torch.zeros((B, L), dtype=torch.bool)
    inst = torch.full((B, L), -1, dtype=torch.long)
    ok = torch.zeros((B, 1, L, L), dtype=torch.bool)
    base = 0
    for b, r in enumerate(rows):
        n = len(r.ids)
        if n > L:
            raise ValueError(f"row of {n} tokens exceeds the length {L}")
        ids[b, :n] = torch.tensor(r.ids)
        pos[b, :n] = torch.tensor(r.pos)
        lab[b, :n] = torch.tensor(r.labels, dtype=torch.bool)
        ii = torch.tensor(r.inst)
        inst[b, :n] = torch.where(ii >= 0, ii + base, ii)
        base += max(r.inst) + 1 if r.inst else 0
        ok[b, 0, :n, :n] = allowed(r.chunk, r.segment, mask)
        idx = torch.arange(n, L)
        ok[b, 0, idx, idx] = True
    add = torch.zeros(ok.shape, dtype=dtype).masked_fill(~ok, torch.finfo(dtype).min)
    return {"input_ids": ids, "position_ids": pos, "attention_mask": add, "labels": lab, "inst": inst}


def loss_fn(logits: torch.Tensor, batch: dict, kind: str = "instruction_mean") -> torch.Tensor:
    """Next-token cross-entropy on response tokens. instruction_mean: mean over instructions of the
    mean over each instruction's response tokens (notes §1.3); token_mean: one mean over all
    response tokens of the batch."""
    logp = torch.log_softmax(logits[:, :-1].float(), -1)
    tgt = batch["input_ids"][:, 1:]
    m = batch["labels"][:, 1:]
    nll = -logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)[m]
    if kind == "token_mean":
        return nll.mean()
    inst = batch["inst"][:, 1:][m]
    k = int(inst.max()) + 1
    tot = torch.zeros(k, dtype=nll.dtype).index_add(0, inst, nll)
    cnt = torch.zeros(k, dtype=nll.dtype).index_add(0, inst, torch.ones_like(nll))
    have = cnt > 0
    return (tot[have] / cnt[have]).mean()


def training_rows(items: dict, step_chunks: list, strategy: dict, renderer) -> list:
    """The rows of one step: `rows_per_step` rows each of `chunks_per_row` chunks (packing
    strategies), or one instruction per row (sequence)."""
    prefix = renderer.system_block(tasks.PROMPTS["default"]) if strategy["default_first"] else None
    rendered = [[renderer.render(system_for(strategy, d), items[d][i]["turns"]) for d, i in ch] for ch in step_chunks]
    cpr = 1 if strategy["sampling"] == "sequence" else strategy["chunks_per_row"]
    return [build_row(rendered[k : k + cpr], prefix) for k in range(0, len(rendered), cpr)]


# -- evaluation: greedy exact match by teacher forcing --------------------------------------------
@torch.no_grad()
def exact_match(model, renderer, items: list, system_of, batch: int = 256) -> list:
    """1/0 per item: does greedy decoding reproduce the reference final answer (and its end token)?
    Exactly equivalent to greedy generation + exact string match: greedy decoding emits the
    reference iff the arg-max at every answer position, given the reference prefix, is the
    reference token. `system_of(item)` gives the system prompt."""
    out = []
    for s in range(0, len(items), batch):
        part = items[s : s + batch]
        rend = [renderer.render(system_of(it), it["turns"]) for it in part]
        rows = [Row(x.ids, x.labels, [0] * len(x.ids), [0] * len(x.ids), list(range(len(x.ids))), [0] * len(x.ids)) for x in rend]
        b = collate(rows, "causal", renderer.pad_id)
        pred = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], position_ids=b["position_ids"]).logits.argmax(-1)
        for r, x in enumerate(rend):
            a, e = x.final
            out.append(int(bool((pred[r, a - 1 : e - 1] == torch.tensor(x.ids[a:e])).all())))
    return out
