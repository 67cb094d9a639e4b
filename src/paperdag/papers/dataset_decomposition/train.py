"""Training one method on the same number of tokens per step and in total: concat-and-chunk
(`cc`), concat-and-chunk with document masking (`cc_dm`), or dataset decomposition with a length
curriculum (`dd`). Validation loss at fixed steps (a deterministic curve vs tokens and vs analytic
FLOPs) and measured training seconds (kept apart: they vary from run to run)."""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from paperdag.core.errors import PaperdagError
from paperdag.core.resume import Resumer

from . import curriculum
from .decompose import DEFAULT_PIECE, concat_and_chunk, document_mask, piece_extra
from .model import build_model, flops_per_token


def lr_at(step: int, t: dict, total: int) -> float:
    warm = max(1, int(round(t["warmup_frac"] * total)))
    if step < warm:
        return t["lr"] * (step + 1) / warm
    prog = (step - warm) / max(1, total - warm)
    return t["lr_min"] + 0.5 * (t["lr"] - t["lr_min"]) * (1 + math.cos(math.pi * prog))


def piece_convention(p: dict, buckets: dict) -> int:
    """Tokens every sequence holds beyond its length L (1: `pow2_plus_1`, L inputs and L targets;
    0: `pow2`, L - 1 targets), from `decompose.piece_tokens`; the decomposed buckets must agree."""
    extra = piece_extra(p["decompose"].get("piece_tokens", DEFAULT_PIECE))
    for i, bk in buckets.items():
        got = bk["tokens"].shape[1] - (1 << i)
        if got != extra:
            raise PaperdagError(
                f"bucket D_{i} holds sequences of {bk['tokens'].shape[1]} tokens but decompose.piece_tokens = "
                f"'{p['decompose'].get('piece_tokens', DEFAULT_PIECE)}' needs {(1 << i) + extra}: the decompose job "
                "must pass decompose.piece_tokens to decompose()")
    return extra


def n_tokens(bt: dict) -> int:
    """Tokens a batch trains on, counted as sequences x L (L = 2^k, the model's sequence length):
    the number of next-token targets with `pow2_plus_1`, the number of tokens with `pow2`."""
    return int(bt["tokens"].shape[0]) * int(bt["L"])


def plan_batches(method: dict, p: dict, corpus: dict, buckets: dict) -> list[dict]:
    """The batches of a run, in order: each {'L': length, 'tokens': (b/L, L + extra) array, 'doc':
    doc of every token or None}, extra = 1 with `decompose.piece_tokens: pow2_plus_1` (concat-and-
    chunk then cuts chunks of L_max + 1 tokens too) and 0 with `pow2`. Every batch holds exactly
    `tokens_per_step` = (b/L) x L tokens in this count (`n_tokens`)."""
    t = p["train"]
    b = t["tokens_per_step"]
    steps = t["total_tokens"] // b
    L_max = 1 << p["decompose"]["i_max"]
    extra = piece_convention(p, buckets)
    kind = method["kind"]
    if kind in ("cc", "cc_dm"):
        chunks, which = concat_and_chunk(corpus["tokens"], corpus["offsets"], corpus["train"], L_max + extra, t["data_seed"])
        per = b // L_max
        if len(chunks) < steps * per:
            raise PaperdagError(f"concat-and-chunk has {len(chunks)} chunks of {L_max}, need {steps * per}: lower train.total_tokens or raise data.max_docs")
        return [
            {"L": L_max, "tokens": chunks[s * per : (s + 1) * per], "doc": which[s * per : (s + 1) * per] if kind == "cc_dm" else None}
            for s in range(steps)
        ]
    if kind != "dd":
        raise PaperdagError(f"methods: unknown kind '{kind}' (cc | cc_dm | dd)")
    ids = sorted(buckets)
    sizes = [int(len(buckets[i]["tokens"])) << i for i in ids]
    nb = curriculum.mixture_tokens(t["total_tokens"], sizes, p["mixture"], b)
    rng = np.random.default_rng(t["data_seed"])
    queues = []
    for i, n in zip(ids, nb):
        seqs = buckets[i]["tokens"]
        per = b >> i
        need = n * per
        if need > len(seqs):
            raise PaperdagError(f"bucket D_{i} has {len(seqs)} sequences, the mixture needs {need}: lower train.total_tokens or raise data.max_docs")
        pick = seqs[rng.permutation(len(seqs))[:need]]
        queues.append([pick[k * per : (k + 1) * per] for k in range(n)])
    order = curriculum.schedule(nb, curriculum.odds(method["curriculum"], len(ids)), method["cycles"], t["data_seed"] + 7)
    pos = [0] * len(ids)
    out = []
    for j in order:
        out.append({"L": 1 << ids[j], "tokens": queues[j][pos[j]], "doc": None})
        pos[j] += 1
    return out


def batch_loss(model, tokens: np.ndarray, doc: np.ndarray | None, drop_last_input: bool = False) -> torch.Tensor:
    """Mean next-token loss of a batch of sequences. `drop_last_input`: the last token of each
    sequence is only a target (`pow2_plus_1` pieces: the model sees L = 2^k inputs for 2^k
    targets); otherwise the model sees all tokens and the last one's prediction is unused (the
    same losses, one position more of compute)."""
    dev = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(tokens)).long().to(dev)
    if drop_last_input:
        inp, tgt = x[:, :-1], x[:, 1:]
        doc = doc[:, :-1] if doc is not None else None
        mask = torch.from_numpy(document_mask(doc)).to(dev) if doc is not None else None
        logits = model(input_ids=inp, attention_mask=mask).logits
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
    mask = torch.from_numpy(document_mask(doc)).to(dev) if doc is not None else None
    logits = model(input_ids=x, attention_mask=mask).logits
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))


def val_batches(corpus: dict, docs: np.ndarray, L_max: int, max_tokens: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Validation documents, each alone and truncated to L_max tokens, grouped by length and right
    padded (a causal model never attends to the padding of later positions; padded targets are
    masked out of the loss)."""
    offs = corpus["offsets"]
    seqs = [corpus["tokens"][offs[d] : min(offs[d + 1], offs[d] + L_max)] for d in docs]
    order = sorted(range(len(seqs)), key=lambda k: (len(seqs[k]), k))
    groups, cur = [], []
    for k in order:
        if cur and (len(cur) + 1) * len(seqs[k]) > max_tokens:
            groups.append(cur)
            cur = []
        cur.append(k)
    if cur:
        groups.append(cur)
    out = []
    for g in groups:
        n = max(len(seqs[k]) for k in g)
        x = np.zeros((len(g), n), dtype=np.int64)
        valid = np.zeros((len(g), n), dtype=bool)
        for r, k in enumerate(g):
            x[r, : len(seqs[k])] = seqs[k]
            valid[r, : len(seqs[k])] = True
        out.append((x, valid))
    return out


@torch.no_grad()
def evaluate(model, batches, long_batches, long_pos: int) -> dict:
    """`val_loss`: mean next-token loss over all tokens of the validation documents (each seen
    alone); `long_loss`: the same over positions >= long_pos of the long validation documents
    (the part of a document that only a model using long context can predict better)."""
    model.eval()
    res = {}
    for name, bs, start in (("val_loss", batches, 1), ("long_loss", long_batches, long_pos)):
        tot, cnt = 0.0, 0
        for x, valid in bs:
            xt = torch.from_numpy(x).to(next(model.parameters()).device)
            logits = model(input_ids=xt).logits[:, :-1]
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), xt[:, 1:].reshape(-1), reduction="none").view(x.shape[0], -1)
            m = torch.from_numpy(valid[:, 1:]).clone().to(nll.device)
            m[:, : max(0, start - 1)] = False  # target position t+1 >= start
            tot += float(nll[m].double().sum())
            cnt += int(m.sum())
        res[name] = tot / max(1, cnt)
        res[name.replace("loss", "tokens")] = cnt
    model.train()
    return res


def train_method(name: str, method: dict, p: dict, corpus: dict, buckets: dict, rdir, log, tag: str | None = None) -> tuple:
    t, m = p["train"], p["model"]
    L_max = 1 << p["decompose"]["i_max"]
    batches = plan_batches(method, p, corpus, buckets)
    steps = len(batches)
    vb = val_batches(corpus, corpus["val"], L_max, t["eval_batch_tokens"])
    lb = val_batches(corpus, corpus["val_long"], L_max, t["eval_batch_tokens"])
    model = build_model(m, corpus["vocab_size"], L_max, t["seed"]).to(t["device"])
    opt = torch.optim.AdamW(model.parameters(), lr=t["lr"], betas=(t["beta1"], t["beta2"]), weight_decay=t["weight_decay"], eps=1e-8)
    eval_steps = sorted(set(list(range(0, steps, t["eval_every"])) + [steps]))
    res = Resumer(rdir, tag or name, every=1)
    state = {"curve": [], "timing": [], "seconds": 0.0, "step_seconds": {}}
    start = res.restore(model, opt, extra=state)
    if start:
        log.info("%s: resumed at step %d", name, start)
    flops = sum(flops_per_token(m, corpus["vocab_size"], bt["L"])["total"] * n_tokens(bt) for bt in batches[:start])
    model.train()
    for s in range(start, steps + 1):
        if s in eval_steps and not any(r["step"] == s for r in state["curve"]):
            ev = evaluate(model, vb, lb, t["long_pos"])
            tokens = sum(n_tokens(bt) for bt in batches[:s])
            state["curve"].append({"step": s, "tokens": tokens, "flops": flops, **ev})
            state["timing"].append({"step": s, "tokens": tokens, "train_seconds": state["seconds"]})
            log.info("%s step %d/%d tokens %d: val %.4f long %.4f (%.1f s training)", name, s, steps, tokens, ev["val_loss"], ev["long_loss"], state["seconds"])
            if 0 < s < steps:
                res.save(s, model, opt, extra=state)
        if s == steps:
            break
        bt = batches[s]
        for g in opt.param_groups:
            g["lr"] = lr_at(s, t, steps)
        t0 = time.perf_counter()
        loss = batch_loss(model, bt["tokens"], bt["doc"], drop_last_input=bt["tokens"].shape[1] == bt["L"] + 1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
        opt.step()
        dt = time.perf_counter() - t0
        state["seconds"] += dt
        key = str(bt["L"])
        tot, cnt = state["step_seconds"].get(key, [0.0, 0])
        state["step_seconds"][key] = [tot + dt, cnt + 1]
        flops += flops_per_token(m, corpus["vocab_size"], bt["L"])["total"] * n_tokens(bt)
        if not math.isfinite(loss.item()):
            raise PaperdagError(f"{name}: loss is not finite at step {s}; lower train.lr")
    lengths = [bt["L"] for bt in batches]
    info = {
        "method": name,
        "spec": method,
        "steps": steps,
        "tokens_per_step": [n_tokens(bt) for bt in batches[:1]][0],
        "total_tokens": int(sum(n_tokens(bt) for bt in batches)),
        "schedule_lengths": lengths,
        "curve": state["curve"],
        "flops_total": flops,
    }
    timing = {"method": name, "timing": state["timing"], "train_seconds": state["seconds"], "step_seconds": state["step_seconds"]}
    return model, info, timing, res
