"""Runs (one per method and seed) -> metrics.json (deterministic: losses, tokens, analytic FLOPs;
mean ± std over independent runs, claims as paired per-seed differences), timing.json (measured
seconds, which vary from run to run), the curves, and the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

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


def _run_metrics(r: dict, target: float) -> dict:
    """One training run's deterministic numbers; `target`: the baseline's final validation loss
    of the same seed."""
    curve = r["curve"]
    return {
        "final_val_loss": curve[-1]["val_loss"],
        "final_long_loss": curve[-1]["long_loss"],
        "flops_per_token": r["flops_total"] / r["total_tokens"],
        "tokens_to_target": to_target(curve, "val_loss", target, "tokens"),
        "flops_to_target": to_target(curve, "val_loss", target, "flops"),
        "mean_seq_len": float(np.mean(r["schedule_lengths"])),
        "mean_seq_len_token_weighted": float(np.sum(np.square(r["schedule_lengths"])) / np.sum(r["schedule_lengths"])),
    }


def _fmt(ms: dict, digits: int = 4) -> str:
    if ms["mean"] is None:
        return "–"
    return f"{ms['mean']:.{digits}f} ± {ms['std']:.{digits}f} (n={ms['n']})" if ms["n"] > 1 else f"{ms['mean']:.{digits}f} (n=1)"


def aggregate(inputs: dict, p: dict) -> Results:
    runs, timings = {}, {}
    for x in inputs["runs"]:
        r = read_json(x)
        runs[(r["method"], r.get("seed", 0))] = r
    for x in inputs["timings"]:
        t = read_json(x)
        timings[(t["method"], t.get("seed", 0))] = t
    stats, analytic, measured = read_json(inputs["stats"]), read_json(inputs["analytic"]), read_json(inputs["measured"])
    tables: dict[str, Table] = {}
    base, main, dm = p["baseline"], p["main_dd"], p["dm_baseline"]
    n_buckets = p["decompose"]["i_max"] - p["decompose"]["i_min"] + 1
    L_max = 1 << p["decompose"]["i_max"]
    seeds = {name: sorted(s for (m, s) in runs if m == name) for name in p["run_methods"]}
    # the target of seed s: the final validation loss of the baseline's run s (paired seeds)
    target = {s: runs[(base, s)]["curve"][-1]["val_loss"] for s in seeds[base]}
    per = {name: {s: _run_metrics(runs[(name, s)], target[s]) for s in seeds[name]} for name in p["run_methods"]}
    for name in per:
        for s, m in per[name].items():
            b = per[base][s]
            m["speedup_tokens_to_target"] = _ratio(b["tokens_to_target"], m["tokens_to_target"])
            m["speedup_flops_to_target"] = _ratio(b["flops_to_target"], m["flops_to_target"])
            m["flops_per_token_vs_baseline"] = m["flops_per_token"] / b["flops_per_token"]

    def over(name, key):
        return mean_std([per[name][s][key] for s in seeds[name]])

    methods, bench = {}, {}
    for name in p["run_methods"]:
        r0 = runs[(name, seeds[name][0])]
        methods[name] = {
            "kind": r0["spec"]["kind"],
            "steps": r0["steps"],
            "total_tokens": r0["total_tokens"],
            "tokens_per_step": r0["tokens_per_step"],
            "seeds": seeds[name],
            **{k: over(name, k) for k in ("final_val_loss", "final_long_loss", "speedup_tokens_to_target", "speedup_flops_to_target",
                                          "flops_per_token", "flops_per_token_vs_baseline", "mean_seq_len", "mean_seq_len_token_weighted")},
            "tokens_to_target": {str(s): per[name][s]["tokens_to_target"] for s in seeds[name]},
            "per_seed": {str(s): per[name][s] for s in seeds[name]},
        }
        secs = []
        for s in seeds[name]:
            tm = timings[(name, s)]
            merged = [{**c, "train_seconds": t["train_seconds"]} for c, t in zip(runs[(name, s)]["curve"], tm["timing"])]
            secs.append({"train_seconds": tm["train_seconds"], "seconds_per_step": tm["train_seconds"] / runs[(name, s)]["steps"],
                         "seconds_to_target": to_target(merged, "val_loss", target[s], "train_seconds"),
                         "seconds_per_step_by_length": {k: v[0] / v[1] for k, v in sorted(tm["step_seconds"].items(), key=lambda kv: int(kv[0]))}})
        bench[name] = {"per_seed": {str(s): x for s, x in zip(seeds[name], secs)},
                       "train_seconds": float(np.mean([x["train_seconds"] for x in secs])),
                       "seconds_per_step": float(np.mean([x["seconds_per_step"] for x in secs]))}
    for name in bench:
        sp = [_ratio(bench[base]["per_seed"][str(s)]["seconds_to_target"], bench[name]["per_seed"][str(s)]["seconds_to_target"]) for s in seeds[name]]
        bench[name]["speedup_seconds_to_target"] = mean_std(sp)
        bench[name]["seconds_vs_baseline"] = bench[name]["train_seconds"] / bench[base]["train_seconds"]

    def gain(a, b, key):
        """a's loss - b's loss per seed both ran (paired seeds: same init and data seed)."""
        common = [s for s in seeds[a] if s in seeds[b]]
        return mean_std([per[a][s][key] - per[b][s][key] for s in common])

    quarter = str(L_max // 4)
    cost_cases = analytic["cases"]
    fpt_quarter = cost_cases[quarter]["flops_per_step"] / analytic["tokens_per_step"]
    ci = {
        "speedup_tokens_to_target": methods[main]["speedup_tokens_to_target"],
        "speedup_flops_to_target": methods[main]["speedup_flops_to_target"],
        "final_val_loss_gain": gain(base, main, "final_val_loss"),
        "long_loss_gain": gain(base, main, "final_long_loss"),
        "dd_vs_dm_val_loss_gain": gain(dm, main, "final_val_loss"),
        "dm_val_loss_gain": gain(base, dm, "final_val_loss"),
        # analytic (a formula on the run's length schedule; the same for every seed of `main`)
        "cost_ratio_vs_baseline": methods[main]["flops_per_token_vs_baseline"]["mean"],
        "cost_ratio_vs_quarter_context": methods[main]["flops_per_token"]["mean"] / fpt_quarter,
        "dropped_token_frac": stats["dropped_frac"],
    }
    ab = p["ablation"]
    if all(k in methods for k in (ab["uniform"], ab["grow_p2_1"], ab["grow_p2_8"])):
        ci["curriculum_long_loss_gain"] = gain(ab["uniform"], ab["grow_p2_8"], "final_long_loss")
        ci["cycles_val_loss_gain"] = gain(ab["grow_p2_1"], ab["grow_p2_8"], "final_val_loss")
    metrics = {
        "units": "losses in nats/token on held-out documents; mean ± std over independent training runs (seeds, n); gains = paired differences per seed",
        "target_val_loss": {str(s): v for s, v in target.items()},
        "baseline": base,
        "main_dd": main,
        "main_methods": [base, dm, main],
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

    rows, trow = [], []
    for name in p["run_methods"]:
        for s in seeds[name]:
            for c, t in zip(runs[(name, s)]["curve"], timings[(name, s)]["timing"]):
                rows.append({"method": name, "seed": s, "step": c["step"], "tokens": c["tokens"], "flops": c["flops"], "val_loss": c["val_loss"], "long_loss": c["long_loss"]})
                trow.append({"method": name, "seed": s, "step": c["step"], "tokens": c["tokens"], "train_seconds": t["train_seconds"], "val_loss": c["val_loss"]})
    tables["val_loss"] = Table(pd.DataFrame(rows))
    tables["val_loss_seconds"] = Table(pd.DataFrame(trow))

    ref = p["paper_reference"]
    main_rows = []
    for name in p["run_methods"]:
        m, bm = methods[name], bench[name]
        pr = ref["table5"].get(name, {})
        main_rows.append({
            "method": name,
            "runs (n)": len(seeds[name]),
            "val loss": _fmt(m["final_val_loss"]),
            "long-doc loss (pos>=%d)" % p["train"]["long_pos"]: _fmt(m["final_long_loss"]),
            "speed-up (tokens)": _fmt(m["speedup_tokens_to_target"], 2),
            "FLOPs/token vs cc": m["flops_per_token_vs_baseline"]["mean"],
            "measured s": bm["train_seconds"],
            "paper regular avg": pr.get("regular", float("nan")),
            "paper long avg": pr.get("long", float("nan")),
            "paper time": pr.get("time", float("nan")),
        })
    tables["methods"] = Table(pd.DataFrame(main_rows), title="Methods on the same tokens (paper Table 5 analogue)",
                note=f"Mean ± std over n independent training runs (seed s: model init train.seed + s, data draws train.data_seed + s); the main comparison "
                f"({base}, {dm}, {main}) has {p['seeds']} runs, the curriculum ablation {p['ablation_seeds']} (n = 1: no interval). "
                f"Target of seed s = final validation loss of `{base}` run s; speed-up = tokens for `{base}` to reach it / tokens for the method (0 = not reached). "
                "Measured seconds: mean over runs of training steps only, 1 thread, machine shared (not deterministic). Paper columns: OpenLM-1B, 103B tokens, Regular/Long-context averages (%) and time (hours on 8 GPUs). "
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
            "runs (n)": len(seeds[name]),
            "val loss": _fmt(methods[name]["final_val_loss"]),
            "long-doc loss": _fmt(methods[name]["final_long_loss"]),
            "paper regular avg": pr.get("regular", float("nan")),
            "paper MDQA avg": pr.get("mdqa", float("nan")),
        })
    tables["curriculum"] = Table(pd.DataFrame(cur_rows), title="Length curriculum ablation (paper Table 2 analogue)",
                note="Ours: validation loss (nats/token, lower is better), mean ± std over n runs; methods outside the main comparison run once (n = 1), so their differences are inconclusive. Paper: OpenLM-1B, 96x2^30 tokens, Regular and MDQA averages (%, higher is better).", floatfmt=".4g")

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
