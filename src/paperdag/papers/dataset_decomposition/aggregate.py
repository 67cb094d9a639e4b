"""Runs -> metrics.json (deterministic: losses, tokens, analytic FLOPs), benchmarks.json
(measured seconds, which vary from run to run), the curves, and the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table

from .curriculum import odds


def to_target(curve: list[dict], key: str, target: float, x: str) -> float | None:
    """The first `x` (tokens, FLOPs or seconds) at which curve[key] <= target, linearly
    interpolated between evaluation points; None if never reached."""
    prev = None
    for r in curve:
        if r[key] <= target:
            if prev is None:
                return float(r[x])
            f = (prev[key] - target) / (prev[key] - r[key])
            return float(prev[x] + f * (r[x] - prev[x]))
        prev = r
    return None


def _ratio(base, other):
    """Speed-up base/other; 0 when `other` never reached the target within its run."""
    if base is None or other is None or other <= 0:
        return 0.0
    return base / other


def aggregate(inputs: dict, p: dict) -> Results:
    runs = {read_json(x)["method"]: read_json(x) for x in inputs["runs"]}
    timings = {read_json(x)["method"]: read_json(x) for x in inputs["timings"]}
    stats, analytic, measured = read_json(inputs["stats"]), read_json(inputs["analytic"]), read_json(inputs["measured"])
    tables: dict[str, Table] = {}
    base, main = p["baseline"], p["main_dd"]
    n_buckets = p["decompose"]["i_max"] - p["decompose"]["i_min"] + 1
    L_max = 1 << p["decompose"]["i_max"]
    target = runs[base]["curve"][-1]["val_loss"]
    methods, bench = {}, {}
    for name in p["run_methods"]:
        r, tm = runs[name], timings[name]
        curve = r["curve"]
        merged = [{**c, "train_seconds": t["train_seconds"]} for c, t in zip(curve, tm["timing"])]
        fpt = r["flops_total"] / r["total_tokens"]
        methods[name] = {
            "kind": r["spec"]["kind"],
            "steps": r["steps"],
            "total_tokens": r["total_tokens"],
            "tokens_per_step": r["tokens_per_step"],
            "final_val_loss": curve[-1]["val_loss"],
            "final_long_loss": curve[-1]["long_loss"],
            "flops_per_token": fpt,
            "tokens_to_target": to_target(curve, "val_loss", target, "tokens"),
            "flops_to_target": to_target(curve, "val_loss", target, "flops"),
            "mean_seq_len": float(np.mean(r["schedule_lengths"])),
            "mean_seq_len_token_weighted": float(np.sum(np.square(r["schedule_lengths"])) / np.sum(r["schedule_lengths"])),
        }
        bench[name] = {
            "train_seconds": tm["train_seconds"],
            "seconds_per_step": tm["train_seconds"] / r["steps"],
            "seconds_to_target": to_target(merged, "val_loss", target, "train_seconds"),
            "seconds_per_step_by_length": {k: v[0] / v[1] for k, v in sorted(tm["step_seconds"].items(), key=lambda kv: int(kv[0]))},
        }
    for name in methods:
        methods[name]["speedup_tokens_to_target"] = _ratio(methods[base]["tokens_to_target"], methods[name]["tokens_to_target"])
        methods[name]["speedup_flops_to_target"] = _ratio(methods[base]["flops_to_target"], methods[name]["flops_to_target"])
        methods[name]["flops_per_token_vs_baseline"] = methods[name]["flops_per_token"] / methods[base]["flops_per_token"]
        bench[name]["speedup_seconds_to_target"] = _ratio(bench[base]["seconds_to_target"], bench[name]["seconds_to_target"])
        bench[name]["seconds_vs_baseline"] = bench[name]["train_seconds"] / bench[base]["train_seconds"]

    quarter = str(L_max // 4)
    cost_cases = analytic["cases"]
    fpt_quarter = cost_cases[quarter]["flops_per_step"] / analytic["tokens_per_step"]
    ci = {
        "speedup_tokens_to_target": methods[main]["speedup_tokens_to_target"],
        "speedup_flops_to_target": methods[main]["speedup_flops_to_target"],
        "final_val_loss_gain": methods[base]["final_val_loss"] - methods[main]["final_val_loss"],
        "long_loss_gain": methods[base]["final_long_loss"] - methods[main]["final_long_loss"],
        "dd_vs_dm_val_loss_gain": methods[p["dm_baseline"]]["final_val_loss"] - methods[main]["final_val_loss"],
        "dm_val_loss_gain": methods[base]["final_val_loss"] - methods[p["dm_baseline"]]["final_val_loss"],
        "cost_ratio_vs_baseline": methods[main]["flops_per_token_vs_baseline"],
        "cost_ratio_vs_quarter_context": methods[main]["flops_per_token"] / fpt_quarter,
        "dropped_token_frac": stats["dropped_frac"],
    }
    ab = p["ablation"]
    if all(k in methods for k in (ab["uniform"], ab["grow_p2_1"], ab["grow_p2_8"])):
        ci["curriculum_long_loss_gain"] = methods[ab["uniform"]]["final_long_loss"] - methods[ab["grow_p2_8"]]["final_long_loss"]
        ci["cycles_val_loss_gain"] = methods[ab["grow_p2_1"]]["final_val_loss"] - methods[ab["grow_p2_8"]]["final_val_loss"]
    metrics = {
        "target_val_loss": target,
        "baseline": base,
        "main_dd": main,
        "corpus": stats,
        "methods": methods,
        "cost_analytic": analytic,
        "claims_inputs": ci,
    }

    mq = measured["cases"]
    bench_all = {
        "note": "measured wall-clock seconds (time.perf_counter) of training steps only (no evaluation); they vary from run to run and with machine load",
        "methods": bench,
        "cost_probe": {k: {"L": v["L"], "dm": v["dm"], "seconds_per_step": v["seconds_per_step"]} for k, v in mq.items()},
        "threads": measured["threads"],
        "measured_cost_ratio_vs_quarter_context": bench[main]["seconds_per_step"] / mq[quarter]["seconds_per_step"],
        "measured_cost_ratio_vs_baseline": bench[main]["seconds_vs_baseline"],
        "measured_speedup_seconds_to_target": bench[main]["speedup_seconds_to_target"],
    }

    rows = []
    for name in p["run_methods"]:
        tm = timings[name]["timing"]
        for c, t in zip(runs[name]["curve"], tm):
            rows.append({"method": name, "step": c["step"], "tokens": c["tokens"], "flops": c["flops"], "val_loss": c["val_loss"], "long_loss": c["long_loss"]})
    tables["val_loss"] = Table(pd.DataFrame(rows))
    trow = []
    for name in p["run_methods"]:
        for c, t in zip(runs[name]["curve"], timings[name]["timing"]):
            trow.append({"method": name, "step": c["step"], "tokens": c["tokens"], "train_seconds": t["train_seconds"], "val_loss": c["val_loss"]})
    tables["val_loss_seconds"] = Table(pd.DataFrame(trow))

    ref = p["paper_reference"]
    main_rows = []
    for name in p["run_methods"]:
        m, bm = methods[name], bench[name]
        pr = ref["table5"].get(name, {})
        main_rows.append({
            "method": name,
            "val loss": m["final_val_loss"],
            "long-doc loss (pos>=%d)" % p["train"]["long_pos"]: m["final_long_loss"],
            "tokens to target (M)": (m["tokens_to_target"] or float("nan")) / 1e6,
            "speed-up (tokens)": m["speedup_tokens_to_target"],
            "FLOPs/token vs cc": m["flops_per_token_vs_baseline"],
            "measured s": bm["train_seconds"],
            "measured s to target": bm["seconds_to_target"] if bm["seconds_to_target"] is not None else float("nan"),
            "paper regular avg": pr.get("regular", float("nan")),
            "paper long avg": pr.get("long", float("nan")),
            "paper time": pr.get("time", float("nan")),
        })
    tables["methods"] = Table(pd.DataFrame(main_rows), title="Methods on the same tokens (paper Table 5 analogue)",
                note=f"Target = final validation loss of `{base}` ({target:.4f} nats/token). Speed-up = tokens for `{base}` to reach it / tokens for the method (0 = not reached). "
                "Measured seconds: training steps only, 1 thread, machine shared (not deterministic). Paper columns: OpenLM-1B, 103B tokens, Regular/Long-context averages (%) and time (hours on 8 GPUs). "
                f"Every method trains on sequences of L inputs and L next-token targets (L + 1 tokens, `decompose.piece_tokens: {p['decompose']['piece_tokens']}`; pow2_plus_1 is how the authors' code cuts them); tokens are counted as sequences x L.", floatfmt=".4g")

    cur_rows = []
    for name in p["run_methods"]:
        spec = p["methods"][name]
        if spec["kind"] != "dd":
            continue
        pr = ref["table2"].get(name, {})
        cur_rows.append({
            "method": name,
            "curriculum": spec["curriculum"],
            "odds (short->long)": " ".join(f"{o:g}" for o in odds(spec["curriculum"], n_buckets)),
            "cycles": spec["cycles"],
            "val loss": methods[name]["final_val_loss"],
            "long-doc loss": methods[name]["final_long_loss"],
            "paper regular avg": pr.get("regular", float("nan")),
            "paper MDQA avg": pr.get("mdqa", float("nan")),
        })
    tables["curriculum"] = Table(pd.DataFrame(cur_rows), title="Length curriculum ablation (paper Table 2 analogue)",
                note="Ours: validation loss (nats/token, lower is better). Paper: OpenLM-1B, 96x2^30 tokens, Regular and MDQA averages (%, higher is better).", floatfmt=".4g")

    L_ref = ref["fig7_lengths"]
    fig7 = dict(zip(L_ref, ref["fig7_rel_time"]))
    c_rows = []
    f0 = cost_cases[str(1 << p["decompose"]["i_min"])]["flops_per_step"]
    s0 = mq[str(1 << p["decompose"]["i_min"])]["seconds_per_step"]
    for k, v in sorted(cost_cases.items(), key=lambda kv: (kv[1]["dm"], kv[1]["L"])):
        c_rows.append({
            "sequence length": k,
            "GFLOPs/step": v["flops_per_step"] / 1e9,
            "FLOPs rel.": v["flops_per_step"] / f0,
            "attention share": v["attention_share"],
            "measured s/step": mq[k]["seconds_per_step"],
            "measured rel.": mq[k]["seconds_per_step"] / s0,
            "paper rel. time (Fig. 7)": fig7.get(v["L"], float("nan")) / 100 if not v["dm"] else float("nan"),
        })
    tables["cost_model"] = Table(pd.DataFrame(c_rows), title=f"Cost of a step of {analytic['tokens_per_step']} tokens by sequence length (paper Fig. 7 / App. C.1)",
                note="Analytic FLOPs: matrix products, forward + backward. Measured: median seconds per step (1 thread, shared machine). Paper: OpenLM-1B on 8xH100, time relative to short sequences.", floatfmt=".3g")
    return Results(metrics, tables, bench_all)
