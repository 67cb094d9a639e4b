"""Seed-set evaluations -> metrics.json (mean ± std over seed-sets, and the claims' inputs) and
the tables: the linear-probe table and the Table 1 analogue (weight decay)."""

from __future__ import annotations

import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

TARGET_NAMES = {"source": "in-distribution (source task)", "task": "task shift (new classes)", "dist": "distribution shift (shifted images)"}


def _pct(ms):
    return {k: (v * 100 if isinstance(v, float) and k in ("mean", "std") else v) for k, v in ms.items()}


def aggregate(inputs: dict, p: dict) -> Results:
    evals = [read_json(x) for x in inputs["evals"]]
    reps = list(evals[0]["reps"])
    probe = {}
    for r in reps:
        info = evals[0]["reps"][r]
        probe[r] = {k: info[k] for k in ("dim", "params", "family", "n")}
        for t in TARGET_NAMES:
            probe[r][t] = _pct(mean_std([e["reps"][r][t]["test_acc"] for e in evals]))
    wds = list(evals[0]["weight_decay"])
    wd = {w: {k: _pct(mean_std([e["weight_decay"][w][k] for e in evals])) for k in ("iid_acc", "task", "dist")} for w in wds}

    N = p["claims_n"]

    def delta(a, b, t):
        return _pct(mean_std([e["reps"][a][t]["test_acc"] - e["reps"][b][t]["test_acc"] for e in evals]))

    def control_gap(t, control):
        """min(CATN, wide-N) - control on target t, per seed-set: both representations a headline
        claim compares must beat the trivial control (random towers of the same size, raw pixels)."""
        if control not in reps or f"wide{N}" not in reps:
            return None
        return _pct(mean_std([
            min(e["reps"][f"cat{N}"][t]["test_acc"], e["reps"][f"wide{N}"][t]["test_acc"]) - e["reps"][control][t]["test_acc"]
            for e in evals
        ]))

    w_lo, w_hi = f"{min(p['weight_decays']):g}", f"{max(p['weight_decays']):g}"
    ci = {
        "delta_cat_wide_task": delta(f"cat{N}", f"wide{N}", "task"),
        "delta_cat_wide_dist": delta(f"cat{N}", f"wide{N}", "dist"),
        "delta_cat_wide_iid": delta(f"cat{N}", f"wide{N}", "source"),
        "delta_cat_joint_task": delta(f"cat{N}", f"joint{N}", "task") if f"joint{N}" in reps else None,
        "gain_cat_single_task": delta(f"cat{N}", "cat1", "task"),
        "learned_minus_random_task": control_gap("task", f"random{N}"),
        "learned_minus_pixels_task": control_gap("task", "pixels"),
        "learned_minus_random_dist": control_gap("dist", f"random{N}"),
        "learned_minus_pixels_dist": control_gap("dist", "pixels"),
        "wd_transfer_drop": _pct(mean_std([e["weight_decay"][w_lo]["task"] - e["weight_decay"][w_hi]["task"] for e in evals])),
        "wd_iid_change": _pct(mean_std([e["weight_decay"][w_hi]["iid_acc"] - e["weight_decay"][w_lo]["iid_acc"] for e in evals])),
    }
    members = _pct(mean_std([a for e in evals for a in e["member_source_test_acc"]]))
    metrics = {
        "units": "accuracy in %, mean ± std over seed-sets (n); deltas in percentage points",
        "seed_sets": len(evals),
        "claims_n": N,
        "probe": probe,
        "weight_decay": wd,
        "weight_decay_range": [w_lo, w_hi],
        "member_source_test_acc": members,
        "claims_inputs": ci,
        # flat keys for `dvc metrics show/diff`
        "cat_task_acc": probe[f"cat{N}"]["task"]["mean"],
        "wide_task_acc": probe[f"wide{N}"]["task"]["mean"],
        "cat1_task_acc": probe["cat1"]["task"]["mean"],
        "cat_dist_acc": probe[f"cat{N}"]["dist"]["mean"],
        "wide_dist_acc": probe[f"wide{N}"]["dist"]["mean"],
    }

    rows = []
    for r in reps:
        row = {"representation": r, "family": probe[r]["family"], "n": probe[r]["n"], "dim": probe[r]["dim"], "tower_params": probe[r]["params"]}
        for t in TARGET_NAMES:
            row[f"{t}_acc"] = probe[r][t]["mean"]
            row[f"{t}_std"] = probe[r][t]["std"]
        rows.append(row)
    order = {"cat": 0, "wide": 1, "joint": 2, "random": 3, "pixels": 4}
    df = pd.DataFrame(rows).sort_values(["family", "n"], key=lambda c: c.map(order) if c.name == "family" else c).reset_index(drop=True)
    probe_table = Table(
        df,
        title="Linear probes: accuracy (%) by representation",
        note=f"Mean and std over {len(evals)} seed-sets. source = in-distribution probe on the training task; "
        "task = new classes; dist = shifted images. C of each probe chosen on validation data only.",
    )
    ref = p["paper_reference"]["table1"]
    wrows = []
    for w in wds:
        wrows.append({
            "weight_decay": f"{float(w):g}",
            "iid_acc": wd[w]["iid_acc"]["mean"], "iid_std": wd[w]["iid_acc"]["std"],
            "task_shift_acc": wd[w]["task"]["mean"], "task_shift_std": wd[w]["task"]["std"],
            "dist_shift_acc": wd[w]["dist"]["mean"], "dist_shift_std": wd[w]["dist"]["std"],
        })
    wdf = pd.DataFrame(wrows)
    note = (
        "Paper (Table 1, ResNet on CIFAR10, linear probe to CIFAR100): weight decay 0 -> "
        f"IID {ref['iid_wd0']}, transfer {ref['transfer_wd0']}; weight decay 5e-4 -> IID {ref['iid_wd']}, transfer {ref['transfer_wd']}."
    )
    wd_table = Table(wdf, title="Table 1 analogue: weight decay vs in-distribution accuracy and transfer", note=note)
    return Results(metrics, {"linear_probe": probe_table, "weight_decay": wd_table})
