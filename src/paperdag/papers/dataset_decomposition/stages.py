"""dataset_decomposition stages: fetch (read + tokenise the corpus once) -> decompose (buckets)
-> train (one job per method and seed) and cost (seconds per step by sequence length) -> metrics/tables
-> figures."""

from __future__ import annotations

import os

import numpy as np

from paperdag.core.io import load_npz, read_json, save_npz, save_tensors, write_json, write_text
from paperdag.core.stage import seed_everything, stage


def _corpus(path) -> dict:
    z = load_npz(path)
    z["vocab_size"] = int(z["vocab_size"])
    return z


@stage("dataset_decomposition.fetch")
def fetch(ctx):
    os.environ["RAYON_NUM_THREADS"] = str(ctx.threads)  # the tokenizers library's thread pool
    from . import corpus as C

    d = ctx.params["data"]
    texts = C.load_texts(d)
    ctx.log.info("%d documents from %s", len(texts), d["source"])
    if d["tokenizer"]["kind"] == "bpe":
        tok = C.train_bpe(texts, d["tokenizer"]["vocab_size"])
    else:
        tok = C.pretrained_tokenizer(d["tokenizer"]["name"])
    tokens, offsets = C.tokenize(tok, texts)
    lengths = np.diff(offsets)
    split = C.split_docs(lengths, d["val_docs"], d["val_long_docs"], d["long_min_tokens"], d["seed"])
    vocab = int(tok.get_vocab_size())
    dtype = np.uint16 if vocab <= 65535 else np.int32
    ctx.log.info("%d tokens, vocab %d, mean doc %.1f tokens, max %d", len(tokens), vocab, lengths.mean(), lengths.max())
    save_npz(ctx.output.corpus, tokens=tokens.astype(dtype), offsets=offsets, vocab_size=np.int64(vocab), eot=np.int64(C.eot_id(tok)), **split)
    write_text(ctx.output.tokenizer, tok.to_str())


@stage("dataset_decomposition.decompose")
def decompose(ctx):
    from .decompose import avg_context_length, concat_and_chunk, decompose as dec

    p = ctx.params
    c = _corpus(ctx.input.corpus)
    q = p["decompose"]
    out = dec(c["tokens"], c["offsets"], c["train"], q["i_min"], q["i_max"], q["seed"], q["piece_tokens"])
    arrays = {}
    for i, b in out["buckets"].items():
        arrays[f"b{i}_tokens"] = b["tokens"]
        arrays[f"b{i}_doc"] = b["doc"]
        arrays[f"b{i}_start"] = b["start"]
    save_npz(ctx.output.buckets, **arrays)
    lengths = np.diff(c["offsets"])[c["train"]]
    kept = {i: int(b["tokens"].size) for i, b in out["buckets"].items()}
    L_max = 1 << q["i_max"]
    chunks, which = concat_and_chunk(c["tokens"], c["offsets"], c["train"], L_max, p["train"]["data_seed"])
    # documents per C&C chunk and the mean same-document context (paper Fig. 3, Appendix F)
    seg_lens = []
    for row in which:
        cut = np.flatnonzero(np.diff(row)) + 1
        seg_lens += np.diff(np.concatenate([[0], cut, [L_max]])).tolist()
    dd_lens = [1 << i for i, b in out["buckets"].items() for _ in range(len(b["doc"]))]
    edges = [2**k for k in range(0, 16)]
    hist_docs, _ = np.histogram(lengths, bins=edges + [2**16])
    hist_tokens, _ = np.histogram(lengths, bins=edges + [2**16], weights=lengths)
    stats = {
        "train_docs": int(len(lengths)),
        "train_tokens": int(lengths.sum()),
        "doc_length": {"mean": float(lengths.mean()), "median": float(np.median(lengths)), "p99": float(np.percentile(lengths, 99)), "max": int(lengths.max())},
        "length_hist": {"edges": edges + [2**16], "docs": hist_docs.tolist(), "tokens": hist_tokens.tolist()},
        "bucket_tokens": {str(1 << i): v for i, v in kept.items()},
        "bucket_sequences": {str(1 << i): int(len(b["doc"])) for i, b in out["buckets"].items()},
        "dropped_tokens": int(out["dropped"].sum()),
        "dropped_frac": float(out["dropped"].sum() / lengths.sum()),
        "conserved": bool(sum(kept.values()) + int(out["dropped"].sum()) == int(lengths.sum())),
        "dd_avg_seq_len": float(np.mean(dd_lens)),
        "dd_avg_context": avg_context_length(dd_lens),
        "cc_docs_per_chunk": float(len(seg_lens) / max(1, len(chunks))),
        "cc_avg_context_dm": avg_context_length(seg_lens),
        "cc_avg_context": avg_context_length([L_max] * len(chunks)),
        "docs_avg_context": avg_context_length(lengths),
    }
    ctx.log.info("decomposition: %s", stats)
    write_json(ctx.output.stats, stats)


def load_buckets(path) -> dict:
    z = load_npz(path)
    ids = sorted({int(k[1:].split("_")[0]) for k in z})
    return {i: {"tokens": z[f"b{i}_tokens"], "doc": z[f"b{i}_doc"], "start": z[f"b{i}_start"]} for i in ids}


@stage("dataset_decomposition.train")
def train(ctx):
    from .model import n_params
    from .plan import seeded
    from .train import train_method

    name, seed = ctx.wildcards["method"], int(ctx.wildcards.get("seed", 0))
    if name not in ctx.params["methods"]:
        from paperdag.core.errors import PaperdagError

        raise PaperdagError(f"unknown method '{name}' (config key methods: {', '.join(ctx.params['methods'])})")
    p = seeded(ctx.params, seed)  # run `seed`: train.seed + seed, train.data_seed + seed
    seed_everything(p["train"]["seed"])
    c = _corpus(ctx.input.corpus)
    buckets = load_buckets(ctx.input.buckets)
    model, info, timing, res = train_method(name, p["methods"][name], p, c, buckets, ctx.resume_dir(), ctx.log, tag=f"{name}-seed{seed}")
    info["params"] = n_params(model)
    info["seed"] = seed
    info["model_seed"], info["data_seed"] = p["train"]["seed"], p["train"]["data_seed"]
    timing["seed"] = seed
    save_tensors(ctx.output.model, model.state_dict(), {"method": name})
    write_json(ctx.output.run, info)
    write_json(ctx.output.timing, timing)
    res.finish()


@stage("dataset_decomposition.cost")
def cost(ctx):
    """Seconds per optimisation step (forward, backward, AdamW) at a fixed number of tokens per
    step, for every bucket length and for concat-and-chunk with document masking; analytic FLOPs
    beside them (paper Fig. 7 / Appendix C.1)."""
    import time

    import torch

    from .model import build_model, flops_per_token
    from .train import batch_loss

    p = ctx.params
    m, t, q = p["model"], p["train"], p["decompose"]
    vocab = int(load_npz(ctx.input.corpus)["vocab_size"])
    b = t["tokens_per_step"]
    L_max = 1 << q["i_max"]
    lengths = [1 << i for i in range(q["i_min"], q["i_max"] + 1)]
    rng = np.random.default_rng(0)
    analytic, measured = {}, {}
    model = build_model(m, vocab, L_max, t["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cases = [(str(L), L, False) for L in lengths] + [(f"{L_max}+dm", L_max, True)]
    for key, L, dm in cases:
        x = rng.integers(0, vocab, size=(b // L, L))
        doc = np.repeat(np.arange(L // 64 + 1), 64)[:L][None].repeat(b // L, 0) if dm else None
        times = []
        for r in range(p["cost"]["warmup"] + p["cost"]["repeats"]):
            t0 = time.perf_counter()
            loss = batch_loss(model, x, doc)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if r >= p["cost"]["warmup"]:
                times.append(time.perf_counter() - t0)
        f = flops_per_token(m, vocab, L)
        analytic[key] = {"L": L, "dm": dm, "flops_per_step": f["total"] * b, "attention_share": f["attention"] / f["total"]}
        measured[key] = {"L": L, "dm": dm, "seconds_per_step": float(np.median(times)), "all": times}
        ctx.log.info("L=%s: %.3f s/step (median of %d), %.3g FLOPs/step", key, np.median(times), len(times), f["total"] * b)
    write_json(ctx.output.analytic, {"tokens_per_step": b, "cases": analytic})
    write_json(ctx.output.measured, {"tokens_per_step": b, "threads": ctx.threads, "cases": measured})
