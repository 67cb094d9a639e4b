"""Per-pair evaluations -> metrics.json (accuracy in %, mean ± std over seeds of the pair), the
per-budget tables and the claims' inputs. Claims compare PLeaS and Perm with the same matching
(`claims_matching`, activation by default as in the paper's main results)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

from .data import SETTINGS

SETTING_TITLES = {
    "labels": "different label spaces (task A: digits 0-4 clean, task B: digits 5-9 inverted+rotated; heads kept per task)",
    "domains": "shared label space (10 classes; domain A clean, domain B translated+noisy)",
}


def _pct(values):
    return mean_std([100.0 * v for v in values])


def aggregate(inputs: dict, p: dict) -> Results:
    evals = [read_json(x) for x in inputs["evals"]]
    tables: dict[str, Table] = {}
    cm = p["claims_matching"]
    metrics: dict = {"units": "accuracy in %, mean ± std over seeds of the model pair (n); deltas in points", "settings": {}}
    ci: dict = {}
    for setting in SETTINGS:
        ev = sorted([e for e in evals if e["setting"] == setting], key=lambda e: e["seed"])
        if not ev:
            continue
        budgets = sorted(ev[0]["flops_ratio"], key=float)
        methods = list(ev[0]["curves"])
        curves = {m: {b: _pct([e["curves"][m][b]["avg"] for e in ev]) for b in budgets} for m in methods}
        per_task = {m: {b: {t: _pct([e["curves"][m][b][t] for e in ev]) for t in ("a", "b")} for b in budgets} for m in methods}
        refs = {
            "ensemble": _pct([e["ensemble"]["avg"] for e in ev]),
            "individual_own": _pct([e["individual_own"] for e in ev]),
            "model_a": _pct([e["model_a"]["avg"] for e in ev]),
            "model_b": _pct([e["model_b"]["avg"] for e in ev]),
            "weight_avg": _pct([e["weight_avg"]["avg"] for e in ev]),
        }
        ls = {m: {b: {k: float(np.mean([e["ls_error"][m][b][k] for e in ev])) for k in ("init_mean", "ls_mean")} for b in budgets}
              for m in ev[0]["ls_error"]}
        ls_lowered = {m: int(sum(e["ls_error"][m][b]["layers_lowered"] for e in ev for b in budgets)) for m in ev[0]["ls_error"]}
        ls_layers = {m: int(sum(e["ls_error"][m][b]["layers"] for e in ev for b in budgets)) for m in ev[0]["ls_error"]}
        metrics["settings"][setting] = {
            "title": SETTING_TITLES[setting],
            "budgets": [float(b) for b in budgets],
            "flops_ratio": {b: float(np.mean([e["flops_ratio"][b] for e in ev])) for b in budgets},
            "curves": curves,
            "per_task": per_task,
            "references": refs,
            "ls_error": ls,
            "ls_layers_lowered": ls_lowered,
            "ls_layers": ls_layers,
            "seeds": [e["seed"] for e in ev],
        }

        below = [b for b in budgets if float(b) < 2.0 - 1e-9]
        small = [b for b in below if float(b) <= p["claims_small_budget"] + 1e-9]
        large = [b for b in below if float(b) >= p["claims_large_budget"] - 1e-9]
        pl, pe = f"pleas_{cm}", f"perm_{cm}"

        def gain(e, b, x=pl, y=pe):
            return 100.0 * (e["curves"][x][b]["avg"] - e["curves"][y][b]["avg"])

        ci[f"{setting}_pleas_minus_perm_min"] = mean_std([min(gain(e, b) for b in below) for e in ev])
        mean_gains = {b: float(np.mean([gain(e, b) for e in ev])) for b in below}
        b_best = max(below, key=lambda b: mean_gains[b])
        ci[f"{setting}_pleas_minus_perm_max"] = mean_std([gain(e, b_best) for e in ev])
        ci[f"{setting}_gap_small_minus_large"] = mean_std(
            [float(np.mean([gain(e, b) for b in small])) - float(np.mean([gain(e, b) for b in large])) for e in ev])
        ci[f"{setting}_individual_minus_weight_avg"] = mean_std([100.0 * (e["individual_own"] - e["weight_avg"]["avg"]) for e in ev])
        if "pleas_free" in methods:
            ci[f"{setting}_free_minus_perm"] = mean_std([float(np.mean([gain(e, b, "pleas_free", pe) for b in below])) for e in ev])
            ci[f"{setting}_pleas_minus_free"] = mean_std([float(np.mean([gain(e, b, pl, "pleas_free") for b in below])) for e in ev])
        top = max(budgets, key=float)
        if abs(float(top) - 2.0) < 1e-9:
            ci[f"{setting}_budget2_minus_ensemble"] = mean_std([100.0 * (e["curves"][pl][top]["avg"] - e["ensemble"]["avg"]) for e in ev])
        metrics[f"{setting}_pleas_acc_b1"] = curves[pl][budgets[0]]["mean"]
        metrics[f"{setting}_perm_acc_b1"] = curves[pe][budgets[0]]["mean"]
        metrics[f"{setting}_ensemble_acc"] = refs["ensemble"]["mean"]

        rows = []
        for m in methods:
            row = {"method": m}
            for b in budgets:
                c = curves[m][b]
                row[f"{float(b):g}x"] = f"{c['mean']:.2f} ± {c['std']:.2f}"
            rows.append(row)
        for name in ("ensemble", "individual_own", "model_a", "model_b", "weight_avg"):
            r = refs[name]
            fl = {"ensemble": "2x", "individual_own": "1x each", "model_a": "1x", "model_b": "1x", "weight_avg": "1x"}[name]
            rows.append({"method": f"{name} ({fl})", **{f"{float(b):g}x": (f"{r['mean']:.2f} ± {r['std']:.2f}" if b == budgets[0] else "") for b in budgets}})
        fr = ", ".join(f"{float(b):g}x -> {metrics['settings'][setting]['flops_ratio'][b]:.3f}" for b in budgets)
        tables[setting] = Table(
            pd.DataFrame(rows),
            title=f"pleas, {SETTING_TITLES[setting]}: average accuracy (%) per FLOPs budget",
            note=(f"Mean ± std over {len(ev)} model pairs (seeds {metrics['settings'][setting]['seeds']}). Methods: perm_<m> = partial "
                  f"permutation merge with <m> matching, no least squares (1x = Git Re-Basin full merge); pleas_<m> = PLeaS "
                  f"(closed-form ridge LS); pleas_adam_<m> = PLeaS with the official Adam LS; pleas_free = PLeaS with matching, "
                  f"LS and BN statistics of merged units on public data only. Reference rows (value in the first column): "
                  f"ensemble = output ensemble of the two models; individual_own = each model on its own task/domain; model_a/model_b = "
                  f"one model on both tasks/domains (labels setting: its own task only); weight_avg = weight averaging without "
                  f"alignment. Achieved FLOPs ratios: {fr}. Activation matching cost: merge.activation_cost = "
                  f"{p['merge'].get('activation_cost', 'sqdist_bn')} (sqdist_bn: squared distance of BatchNorm outputs; "
                  f"dist_prebn_bn_relu: the official code's cost; docs/CROSSCHECKS.md)."),
        )
    long = []
    for setting, st in metrics["settings"].items():
        for mth, c in st["curves"].items():
            for b, v in c.items():
                long.append({"setting": setting, "method": mth, "budget": float(b), "flops_ratio": st["flops_ratio"][b], "acc_mean": v["mean"], "acc_std": v["std"], "n": v["n"]})
    tables["curves"] = Table(pd.DataFrame(long))
    metrics["claims_inputs"] = ci
    return Results(metrics, tables)
