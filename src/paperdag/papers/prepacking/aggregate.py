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

from .packing import pack, token_counts


PACKER_NOTE = (
    "Packer: benchmark.algo = {algo} (ffd: our first-fit decreasing, the default, which needs the official code's row "
    "counts on every cross-checked batch; bfd: best-fit decreasing as binpacking 1.5.2, the official code's pin; "
    "binpacking: the installed library 2.0.1). See docs/CROSSCHECKS.md."
)


def aggregate(inputs: dict, p: dict) -> Results:
    """metrics.json (deterministic), timing.json (measured times, speed-ups, memory, and the
    `timing_*` claims inputs), the speed-up table and the packer comparison table."""
    m, tables = build_metrics(p, read_json(inputs["plan"]), read_json(inputs["packing"]),
                              read_json(inputs["correctness"]), read_json(inputs["bench"]))
    timing = {"timing": m.pop("timing"), "claims_inputs": {k: m["claims_inputs"].pop(k) for k in list(m["claims_inputs"]) if k.startswith("timing_")}}
    return Results(m, {"speedup": Table(tables["speedup"], floatfmt=".3g", note=PACKER_NOTE.format(algo=m["algo"])), "packing": Table(tables["packing"])}, timing)


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
    tok = defaultdict(list)
    for bt in plan["batches"]:
        t = token_counts(bt["lengths"], pack(bt["lengths"], None, algo))
        tok[(bt["dist"], bt["bs"])].append(t)
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
        ts = tok[(d, bs)]
        row = {"dist": d, "bs": bs, "batches": len(rs)}
        for m in b["methods"]:
            for k in ("prefill_cpu", "prefill_wall", "ttft_cpu", "ttft_wall", "peak_mem_mb", "peak_mem_ttft_mb"):
                row[f"{m}_{k}"] = float(np.mean([x[m][k] for x in rs]))
        for c in ("cpu", "wall"):
            row[f"speedup_prefill_{c}"] = _ms([x["padded"][f"prefill_{c}"] / x["prepacked"][f"prefill_{c}"] for x in rs])
            row[f"speedup_ttft_{c}"] = _ms([x["padded"][f"ttft_{c}"] / x["prepacked"][f"ttft_{c}"] for x in rs])
            if "loop" in b["methods"]:
                row[f"speedup_vs_loop_{c}"] = _ms([x["loop"][f"prefill_{c}"] / x["prepacked"][f"prefill_{c}"] for x in rs])
        # how close to the bound: measured / (padded tokens / packed tokens), per batch
        row["fraction_of_bound_rows"] = _ms([x["padded"][f"prefill_{clock}"] / x["prepacked"][f"prefill_{clock}"] / t["bound_rows"]
                                             for x, t in zip(rs, ts)])
        # memory: ratio of the summed peaks over the batches (a per-batch ratio divides by ~0 where
        # the CPU measurement sees no growth: see bench.PeakRSS)
        row["memory_reduction"] = _ratio_of_sums(rs, "peak_mem_mb")
        row["memory_reduction_ttft"] = _ratio_of_sums(rs, "peak_mem_ttft_mb")
        timing_rows[f"{d}/{bs}"] = row
    cd = b["claim_distribution"]
    bss = sorted(b["batch_sizes"])
    big, small = bss[-1], min([x for x in bss if x >= 4] or bss)
    tr_big, tr_small = timing_rows.get(f"{cd}/{big}"), timing_rows.get(f"{cd}/{small}")
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
        if tr_small and small != big:
            claims_inputs["timing_speedup_growth"] = (tr_big[f"speedup_prefill_{clock}"]["mean"]
                                                      - tr_small[f"speedup_prefill_{clock}"]["mean"])
    metrics = {
        "model": p["model"].get("name", ""),
        "algo": algo,
        "claim_distribution": cd, "claim_batch_size": big, "growth_from_batch_size": small,
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
            "distribution": t["dist"], "batch size": t["bs"], "rows / k": t["mean_rows"] / t["bs"],
            "bound padded/real": t["bound_real"], "bound k/r": t["bound_rows"],
            "padded prefill s": tr.get(f"padded_prefill_{clock}", float("nan")),
            "prepacked prefill s": tr.get(f"prepacked_prefill_{clock}", float("nan")),
            "loop prefill s": tr.get(f"loop_prefill_{clock}", float("nan")),
            f"speed-up prefill ({clock})": tr.get(f"speedup_prefill_{clock}", {}).get("mean", float("nan")),
            "speed-up prefill (wall)": tr.get("speedup_prefill_wall", {}).get("mean", float("nan")),
            f"speed-up TTFT ({clock})": tr.get(f"speedup_ttft_{clock}", {}).get("mean", float("nan")),
            "peak mem padded MB": tr.get("padded_peak_mem_mb", float("nan")),
            "peak mem prepacked MB": tr.get("prepacked_peak_mem_mb", float("nan")),
            "peak mem to TTFT padded MB": tr.get("padded_peak_mem_ttft_mb", float("nan")),
            "peak mem to TTFT prepacked MB": tr.get("prepacked_peak_mem_ttft_mb", float("nan")),
        })
    prows = [{"distribution": v["dist"], "batch size": v["bs"], "batches": v["samples"],
              "rows binpacking": v["rows_binpacking"], "rows FFD": v["rows_ffd"], "rows lower bound": v["rows_lower_bound"],
              "FFD fewer": v["ffd_fewer"], "binpacking fewer": v["binpacking_fewer"]} for v in packing.values()]
    return metrics, {"speedup": pd.DataFrame(srows), "packing": pd.DataFrame(prows)}
