"""prepacking stages: plan (prompts of every benchmark batch, packer comparison) -> correctness
(logits and greedy generations, deterministic) -> benchmark (prefill/TTFT time and peak memory
per method; timings) -> metrics (+ tables) -> figures."""

from __future__ import annotations

import numpy as np

from paperdag.core.errors import PaperdagError
from paperdag.core.io import read_json, write_json
from paperdag.core.stage import seed_everything, stage

from . import data as pdata
from .packing import check_packing, pack


def _model_spec(p: dict, ctx) -> dict:
    m = dict(p["model"])
    if m["source"] == "local":
        m["path"] = ctx.input.model
    return m


def _load(p, ctx, with_tokenizer=False, dtype=None):
    import torch

    from paperdag.core.lm import load_causal_lm

    m = p["model"]
    torch.manual_seed(int(p["seed"]))
    model, tok = load_causal_lm(_model_spec(p, ctx), dtype=dtype or m["dtype"], device=m["device"],
                                attn_implementation=m.get("attn"), with_tokenizer=with_tokenizer)
    return model, tok


def _pad_id(model, tok) -> int:
    if tok is not None and tok.pad_token_id is not None:
        return int(tok.pad_token_id)
    pid = model.config.pad_token_id
    return int(pid) if pid is not None else 0


def _length_pool(dist: dict, rng: np.random.Generator, tok, vocab: int, batches: list[dict], name: str,
                 size: int = pdata.LENGTH_POOL) -> list[int] | None:
    """Prompt lengths to resample from for the packer comparison: `size` texts of a `text`
    source (tokenized once), the benchmark's own prompts of an `hf` dataset; None for synthetic
    distributions (drawn fresh)."""
    if dist["kind"] == "text":
        prompts, _ = pdata.text_prompts(dist, min(size, len(pdata.text_pool(dist["source"]))), rng, tok, vocab)
        return [len(x) for x in prompts]
    if dist["kind"] == "hf":
        return [len(x) for b in batches if b["dist"] == name for x in b["prompts"]]
    return None


@stage("prepacking.plan")
def plan(ctx):
    """The prompts of every benchmark batch (each batch an independent, fresh sample of prompts
    of its distribution) and of the correctness batches (token ids), and the two packers compared
    on many sampled batches (rows used; model-free)."""
    p = ctx.params
    dists = p["distributions"]
    bench_d = p["benchmark"]["distributions"]
    needs_tok = any(dists[d]["kind"] == "hf" or (dists[d]["kind"] == "text" and dists[d].get("unit", "tokens") == "tokens")
                    for d in bench_d)
    tok = None
    if p["model"]["source"] == "random":
        vocab = int(p["model"]["config"]["vocab_size"])
        if needs_tok:
            raise PaperdagError(f"{pdata.CFG}: a random model has no tokenizer: its `text` distributions need `unit: words` "
                                "and it cannot read `hf` datasets")
    else:
        from transformers import AutoConfig, AutoTokenizer

        src = ctx.input.model if p["model"]["source"] == "local" else p["model"]["id"]
        vocab = int(AutoConfig.from_pretrained(src).vocab_size)
        if needs_tok:
            tok = AutoTokenizer.from_pretrained(src)
    low = int(p["benchmark"].get("token_low", 0))
    batches = []
    for b in pdata.plan_batches(p):
        dist = dists[b["dist"]]
        if dist["kind"] == "hf":
            if tok is None:
                raise PaperdagError(f"{pdata.CFG}: hf distributions need a model with a tokenizer")
            b["prompts"] = pdata.hf_prompts(dist, tok, b["bs"], b["seed"], int(dist["max_len"]))
            b["lengths"] = [len(x) for x in b["prompts"]]
        elif dist["kind"] == "text":
            b["prompts"], b["texts"] = pdata.text_prompts(dist, b["bs"], np.random.default_rng(b["seed"]), tok, vocab, low)
            b["lengths"] = [len(x) for x in b["prompts"]]
        else:
            b["prompts"] = pdata.random_prompts(b["lengths"], b["seed"], vocab, low)
        batches.append(b)
    c = p["correctness"]
    rng = np.random.default_rng(int(p["seed"]) + 99)
    corr = []
    for j in range(c["batches"]):
        lengths = pdata.sample_lengths(dists[c["distribution"]], c["batch_size"], rng, c["length_scale"])
        corr.append({"lengths": lengths, "prompts": pdata.random_prompts(lengths, int(p["seed"]) + 1000 + j, vocab, low)})
    # the two packers on many batches of every benchmark distribution (cheap: no model)
    pc = p["packing_compare"]
    cmp_rows = {}
    for d_i, d in enumerate(bench_d):
        dist = dists[d]
        pool = _length_pool(dist, np.random.default_rng([int(p["seed"]), 7, d_i]), tok, vocab, batches, d)
        for bs in pc["batch_sizes"]:
            r = np.random.default_rng([int(p["seed"]), bs, len(cmp_rows)])
            rows = {"binpacking": [], "ffd": [], "k": bs}
            bound = []
            for _ in range(pc["samples"]):
                if pool is not None:
                    lengths = [int(x) for x in r.choice(pool, size=bs)]
                else:
                    lengths = pdata.sample_lengths(dist, bs, r, 1.0)
                cap = max(lengths)
                for algo in ("binpacking", "ffd"):
                    bins = pack(lengths, cap, algo)
                    check_packing(bins, lengths, cap)
                    rows[algo].append(len(bins))
                bound.append(-(-sum(lengths) // cap))  # volume lower bound on the rows
            cmp_rows[f"{d}/{bs}"] = {
                "dist": d, "bs": bs, "samples": pc["samples"],
                "rows_binpacking": float(np.mean(rows["binpacking"])), "rows_ffd": float(np.mean(rows["ffd"])),
                "rows_lower_bound": float(np.mean(bound)),
                "ffd_fewer": int(np.sum(np.array(rows["ffd"]) < np.array(rows["binpacking"]))),
                "binpacking_fewer": int(np.sum(np.array(rows["binpacking"]) < np.array(rows["ffd"]))),
            }
    sources = {d: pdata.source_info(dists[d]["source"]) for d in bench_d if dists[d]["kind"] == "text"}
    ctx.log.info("planned %d benchmark batches, %d correctness batches; text sources %s", len(batches), len(corr), sources)
    write_json(ctx.output.plan, {"vocab_size": vocab, "sources": sources, "batches": batches, "correctness": corr})
    write_json(ctx.output.packing, cmp_rows)


@stage("prepacking.correctness")
def correctness(ctx):
    """fp32: per prompt, prepacked last-token logits vs one-prompt-at-a-time logits (and padded vs
    one-at-a-time, the baseline's own error); greedy generations prepacked vs `generate` on the
    padded batch."""
    import torch

    from . import prepack

    p = ctx.params
    seed_everything(int(p["seed"]))
    model, tok = _load(p, ctx, with_tokenizer=False, dtype="float32")  # exactness is checked in fp32
    assert next(model.parameters()).dtype == torch.float32
    pad = _pad_id(model, None)
    eos = model.generation_config.eos_token_id if model.generation_config is not None else None
    eos = eos[0] if isinstance(eos, list) else eos
    c = p["correctness"]
    pl = read_json(ctx.input.plan)
    rows = []
    for j, b in enumerate(pl["correctness"]):
        prompts = b["prompts"]
        ref, _ = prepack.prefill_loop(model, prompts)
        packed, cache, pb = prepack.prefill_prepacked(model, prompts, pad, p["benchmark"]["algo"])
        padded, _, _ = prepack.prefill_padded(model, prompts, pad)
        gen_p = prepack.generate_prepacked(model, prompts, pad, c["max_new_tokens"], eos, p["benchmark"]["algo"]).tolist()
        gen_h = prepack.generate_hf(model, prompts, pad, c["max_new_tokens"], eos).tolist()
        same = [prepack.truncate_after_eos(a, eos) == prepack.truncate_after_eos(h, eos) for a, h in zip(gen_p, gen_h)]
        rows.append({
            "lengths": b["lengths"], "rows": len(pb.bins),
            "packed_vs_single_max_abs": float((packed - ref).abs().max()),
            "padded_vs_single_max_abs": float((padded - ref).abs().max()),
            "argmax_agree": int((packed.argmax(-1) == ref.argmax(-1)).sum()),
            "generations_identical": int(sum(same)), "prompts": len(prompts),
        })
        ctx.log.info("batch %d: %s", j, rows[-1])
    write_json(ctx.output.correctness, {"batches": rows, "max_new_tokens": c["max_new_tokens"]}, ndigits=9)


@stage("prepacking.benchmark")
def benchmark(ctx):
    """Prefill and TTFT time and peak memory of every planned batch of one distribution (one job
    per distribution, so they run side by side) for every method (order of methods rotated per
    batch), after warm-up. Timings: this file only, never metrics.json."""
    import platform

    import torch

    from . import bench

    p = ctx.params
    b = p["benchmark"]
    mmap_ok = bench.fixed_mmap_threshold()
    model, _ = _load(p, ctx)
    pad = _pad_id(model, None)
    device = p["model"]["device"]
    pl = read_json(ctx.input.plan)
    dist = ctx.wildcards["dist"]
    batches = [x for x in pl["batches"] if x["dist"] == dist]
    if not batches:
        raise PaperdagError(f"{pdata.CFG}: the plan has no batches of distribution '{dist}'")
    methods = list(b["methods"])
    # warm-up: allocator, kernels, lazy init
    for _ in range(b["warmup"]):
        for m in methods:
            bench.measure(model, m, batches[-1]["prompts"], pad, b["algo"], device)
    from tqdm import tqdm

    results = []
    for n, bt in enumerate(tqdm(batches, desc="batches", mininterval=10)):
        rec = {"dist": bt["dist"], "bs": bt["bs"], "batch": bt["batch"], "lengths": bt["lengths"]}
        order = methods[n % len(methods):] + methods[: n % len(methods)]
        meas = {m: [] for m in methods}
        for _ in range(b["repeats"]):
            for m in order:
                meas[m].append(bench.measure(model, m, bt["prompts"], pad, b["algo"], device))
        for m in methods:
            rec[m] = {k: float(np.median([x[k] for x in meas[m]])) for k in meas[m][0]}
        results.append(rec)
    dev = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"CPU ({platform.processor() or platform.machine()}, {ctx.threads} thread(s))"
    write_json(ctx.output.bench, {
        "dist": dist, "device": dev, "threads": ctx.threads, "model": p["model"].get("name", ""),
        "random_weights": p["model"]["source"] == "random", "dtype": p["model"]["dtype"],
        "torch": torch.__version__, "fixed_mmap_threshold": mmap_ok, "results": results,
    })
