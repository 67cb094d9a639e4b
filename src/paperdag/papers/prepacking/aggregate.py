"""metrics.json and tables from the plan, the packer comparison, the correctness checks and the
benchmark. Everything outside `timing` (and outside the claims inputs named `timing_*`) is
deterministic for a config; measured times, speed-ups and memory are under `timing`, which the
metrics stage writes to timing.json, apart from metrics.json.

Memory on CPU (bench.PeakRSS, resident-set growth sampled during the call) under-reports:
allocations served from memory the process already holds do not grow the resident set, so small
prefills often read ~0 MB and large ones read less than their KV cache. It gives orders of
magnitude only; the memory claim is decided at the paper scale (GPU, exact)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std as _ms

from .data import LENGTH_POOL
from .packing import pack, token_counts


def aggregate(inputs: dict, p: dict) -> Results:
    """metrics.json (deterministic), timing.json (measured times, speed-ups, memory, and the
    `timing_*` claims inputs), the speed-up table and the packer comparison table."""
    benches = [read_json(x) for x in ([inputs["bench"]] if isinstance(inputs["bench"], str) else inputs["bench"])]
    m, tables = build_metrics(p, read_json(inputs["plan"]), read_json(inputs["packing"]),
                              read_json(inputs["correctness"]), merge_benches(benches))
    timing = {"timing": m.pop("timing"), "claims_inputs": {k: m["claims_inputs"].pop(k) for k in list(m["claims_inputs"]) if k.startswith("timing_")}}
    b = p["benchmark"]
    labels = "; ".join(f"{d} = {p['distributions'][d].get('label', d)}" for d in b["distributions"])
    note = (f"Packing algorithm: {ALGO_NAMES.get(b['algo'], b['algo'])} (config benchmark.algo = {b['algo']}). "
            f"{b['batches']} independent batches per (distribution, batch size), each a fresh sample of prompts; "
            f"times are means over them ({b['clock']} time for the speed-ups), speed-ups are means of per-batch ratios. "
            f"Prompts: {labels}.")
    pnote = (f"{p['packing_compare']['samples']} sampled batches per row (real-text distributions: lengths resampled "
             f"from {LENGTH_POOL} tokenized texts of the source); the benchmark uses {ALGO_NAMES.get(b['algo'], b['algo'])} "
             f"(config benchmark.algo = {b['algo']}).")
    return Results(m, {"speedup": Table(tables["speedup"], title="Prefill time and speed-up per distribution and batch size",
                                        note=note, floatfmt=".3g"),
                       "packing": Table(tables["packing"], title="Rows used by the two packers", note=pnote)}, timing)


ALGO_NAMES = {
    "ffd": "first-fit decreasing (ours; the official code's row counts on every cross-checked batch, docs/CROSSCHECKS.md)",
    "bfd": "best-fit decreasing (ours; the heuristic of binpacking 1.5.2, which the official code pins)",
    "binpacking": "the binpacking library 2.0.1's to_constant_volume (emptiest row that fits: sometimes one row more)",
}


def merge_benches(benches: list[dict]) -> dict:
    """The per-distribution benchmark files as one: shared fields from the first, every result."""
    if not benches:
        return {"device": "", "random_weights": False, "dtype": "", "results": []}
    out = {k: v for k, v in benches[0].items() if k not in ("results", "dist")}
    out["results"] = [r for bt in benches for r in bt["results"]]
    return out


def growth_slope(speedups: dict[int, float]) -> float | None:
    """Least-squares slope of log2(speed-up) on log2(batch size) over the batch sizes >= 2 of one
    replicate: 0 = no growth, s = the speed-up multiplies by 2**s per doubling of the batch size."""
    xs = sorted(k for k in speedups if k >= 2 and speedups[k] and speedups[k] > 0)
    if len(xs) < 2:
        return None
    slope = np.polyfit(np.log2(xs), np.log2([speedups[k] for k in xs]), 1)[0]
    return float(slope)


def _ratio_of_sums(rs, key: str, floor_mb: float = 1.0):
    """sum(padded) / sum(prepacked) of a memory key, or None where the prepacked sum is below
    `floor_mb` (nothing measurable)."""
    a = sum(x["padded"][key] for x in rs)
    b = sum(x["prepacked"][key] for x in rs)
    return a / b if b >= floor_mb else None


def build_metrics(p: dict, plan: dict, packing: dict, corr: dict, bench: dict):
    b = p["benchmark"]
    algo = b["algo"]
    clock = b["clock"]
    # deterministic token accounting per (distribution, batch size)
    tok, tok_of = defaultdict(list), {}
    for bt in plan["batches"]:
        t = token_counts(bt["lengths"], pack(bt["lengths"], None, algo))
        tok[(bt["dist"], bt["bs"])].append(t)
        tok_of[(bt["dist"], bt["bs"], bt["batch"])] = t
    tokens = {}
    for (d, bs), ts in sorted(tok.items()):
        tokens[f"{d}/{bs}"] = {
            "dist": d, "bs": bs, "batches": len(ts),
            "mean_rows": float(np.mean([t["rows"] for t in ts])),
            "mean_max_len": float(np.mean([t["max_len"] for t in ts])),
            "mean_len": float(np.mean([t["real_tokens"] / t["k"] for t in ts])),
            "padded_tokens": int(sum(t["padded_tokens"] for t in ts)),
            "packed_tokens": int(sum(t["packed_tokens"] for t in ts)),
            "real_tokens": int(sum(t["real_tokens"] for t in ts)),
            "bound_real": float(np.mean([t["bound_real"] for t in ts])),
            "bound_rows": float(np.mean([t["bound_rows"] for t in ts])),
        }
    cb = corr["batches"]
    n_prompts = sum(x["prompts"] for x in cb)
    correctness = {
        "packed_vs_single_max_abs": max(x["packed_vs_single_max_abs"] for x in cb),
        "padded_vs_single_max_abs": max(x["padded_vs_single_max_abs"] for x in cb),
        "argmax_agree": sum(x["argmax_agree"] for x in cb),
        "generations_identical": sum(x["generations_identical"] for x in cb),
        "prompts": n_prompts, "max_new_tokens": corr["max_new_tokens"],
    }
    # timings: per batch speed-ups, then per (distribution, batch size)
    per = defaultdict(list)
    for r in bench["results"]:
        per[(r["dist"], r["bs"])].append(r)
    timing_rows = {}
    for (d, bs), rs in sorted(per.items()):
        row = {"dist": d, "bs": bs, "batches": len(rs)}
        for m in b["methods"]:
            for k in ("prefill_cpu", "prefill_wall", "ttft_cpu", "ttft_wall", "peak_mem_mb", "peak_mem_ttft_mb"):
                row[f"{m}_{k}"] = float(np.mean([x[m][k] for x in rs]))
        rs = sorted(rs, key=lambda x: x["batch"])
        for c in ("cpu", "wall"):
            each = [x["padded"][f"prefill_{c}"] / x["prepacked"][f"prefill_{c}"] for x in rs]
            row[f"speedup_prefill_{c}_each"] = each
            row[f"speedup_prefill_{c}"] = _ms(each)
            row[f"speedup_ttft_{c}"] = _ms([x["padded"][f"ttft_{c}"] / x["prepacked"][f"ttft_{c}"] for x in rs])
            if "loop" in b["methods"]:
                row[f"speedup_vs_loop_{c}"] = _ms([x["loop"][f"prefill_{c}"] / x["prepacked"][f"prefill_{c}"] for x in rs])
        # how close to the bound: measured / (padded tokens / packed tokens), per batch
        row["fraction_of_bound_rows"] = _ms([x["padded"][f"prefill_{clock}"] / x["prepacked"][f"prefill_{clock}"] / t["bound_rows"]
                                             for x, t in ((x, tok_of[(d, bs, x["batch"])]) for x in rs)])
        # memory: ratio of the summed peaks over the batches (a per-batch ratio divides by ~0 where
        # the CPU measurement sees no growth: see bench.PeakRSS)
        row["memory_reduction"] = _ratio_of_sums(rs, "peak_mem_mb")
        row["memory_reduction_ttft"] = _ratio_of_sums(rs, "peak_mem_ttft_mb")
        timing_rows[f"{d}/{bs}"] = row
    cd = b["claim_distribution"]
    bss = sorted(b["batch_sizes"])
    big = bss[-1]
    tr_big = timing_rows.get(f"{cd}/{big}")
    claims_inputs = {
        "logits_max_abs_diff": correctness["packed_vs_single_max_abs"],
        "greedy_identical_fraction": correctness["generations_identical"] / max(1, n_prompts),
        "bound_rows_claim_bs": tokens[f"{cd}/{big}"]["bound_rows"],
        "bound_real_claim_bs": tokens[f"{cd}/{big}"]["bound_real"],
    }
    if tr_big:
        claims_inputs.update({
            "timing_speedup_prefill": tr_big[f"speedup_prefill_{clock}"],
            "timing_speedup_ttft": tr_big[f"speedup_ttft_{clock}"],
            "timing_fraction_of_bound": tr_big["fraction_of_bound_rows"],
            "timing_memory_reduction": tr_big["memory_reduction"],
            "timing_memory_reduction_ttft": tr_big["memory_reduction_ttft"],
        })
    # growth with the batch size, one value per replicate j: batch j of every batch size of the
    # claim distribution (independent fresh samples), slope of log speed-up on log batch size
    rep = defaultdict(dict)
    for r in bench["results"]:
        if r["dist"] == cd:
            rep[r["batch"]][r["bs"]] = r["padded"][f"prefill_{clock}"] / r["prepacked"][f"prefill_{clock}"]
    growth = [growth_slope(rep[j]) for j in sorted(rep)]
    if any(g is not None for g in growth):
        claims_inputs["timing_speedup_growth"] = _ms(growth)
    metrics = {
        "model": p["model"].get("name", ""),
        "algo": algo,
        "claim_distribution": cd, "claim_batch_size": big, "growth_batch_sizes": [x for x in bss if x >= 2],
        "distributions": {d: p["distributions"][d].get("label", d) for d in b["distributions"]},
        "sources": plan.get("sources", {}),
        "correctness": correctness,
        "tokens": tokens,
        "packing_compare": packing,
        "claims_inputs": claims_inputs,
        "timing": {"clock": clock, "device": bench["device"], "random_weights": bench["random_weights"],
                   "dtype": bench["dtype"], "rows": timing_rows},
    }
    # tables
    srows = []
    for key, t in tokens.items():
        tr = timing_rows.get(key, {})
        srows.append({
            "distribution": t["dist"], "batch size": t["bs"], "batches": t["batches"],
            "mean length": t["mean_len"], "mean longest": t["mean_max_len"], "rows / k": t["mean_rows"] / t["bs"],
            "bound padded/real": t["bound_real"], "bound k/r": t["bound_rows"],
            "padded prefill s": tr.get(f"padded_prefill_{clock}", float("nan")),
            "prepacked prefill s": tr.get(f"prepacked_prefill_{clock}", float("nan")),
            "loop prefill s": tr.get(f"loop_prefill_{clock}", float("nan")),
            f"speed-up prefill ({clock})": tr.get(f"speedup_prefill_{clock}", {}).get("mean", float("nan")),
            f"± std ({clock})": tr.get(f"speedup_prefill_{clock}", {}).get("std", float("nan")),
            "speed-up prefill (wall)": tr.get("speedup_prefill_wall", {}).get("mean", float("nan")),
            f"speed-up TTFT ({clock})": tr.get(f"speedup_ttft_{clock}", {}).get("mean", float("nan")),
            "peak mem padded MB": tr.get("padded_peak_mem_mb", float("nan")),
            "peak mem prepacked MB": tr.get("prepacked_peak_mem_mb", float("nan")),
            "peak mem to TTFT padded MB": tr.get("padded_peak_mem_ttft_mb", float("nan")),
            "peak mem to TTFT prepacked MB": tr.get("prepacked_peak_mem_ttft_mb", float("nan")),
        })
    prows = [{"distribution": v["dist"], "batch size": v["bs"], "batches": v["samples"],
              "rows binpacking": v["rows_binpacking"], "rows FFD": v["rows_ffd"], "rows lower bound": v["rows_lower_bound"],
              "FFD fewer": v["ffd_fewer"], "binpacking fewer": v["binpacking_fewer"]}
             for v in sorted(packing.values(), key=lambda v: (b["distributions"].index(v["dist"]) if v["dist"] in b["distributions"] else 0, v["bs"]))]
    return metrics, {"speedup": pd.DataFrame(srows), "packing": pd.DataFrame(prows)}
