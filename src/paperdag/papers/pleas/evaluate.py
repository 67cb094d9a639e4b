"""One (setting, seed) pair: every method at every budget -> one evals JSON.

Methods: the two source models alone, their output ensemble (2x), weight averaging without
alignment (1x), and for each matching (activation / weight): partial permutation merging
without least squares ("perm_<m>", budget 1.0 = Git Re-Basin full merge) and PLeaS
("pleas_<m>", closed-form ridge least squares; "pleas_adam_<m>" with the Adam variant when
enabled), plus PLeaS-free ("pleas_free": matching, least squares and BatchNorm statistics on
public data only). Every merged model gets its BatchNorm statistics re-estimated."""

from __future__ import annotations

import numpy as np
import torch

from . import merge as M
from .train import accuracy_from_logits, batches_of, head_name, logits

METHOD_LABELS = {
    "perm": "Perm (partial permutation merge, no LS)",
    "pleas": "PLeaS (ours)",
    "pleas_adam": "PLeaS, Adam LS",
    "pleas_free": "PLeaS-free (public data)",
}


def evaluate_net(net, d: dict, setting: str, part: str = "test") -> dict:
    """Accuracy on task A and task B (and their average) on `part`: `test` (the claims) or `val`
    (held out of training; selection only)."""
    if setting == "labels":
        acc = {t: accuracy_from_logits(logits(net, d[f"labels_{t}_{part}_x"], t), d[f"labels_{t}_{part}_y"]) for t in ("a", "b")}
    else:
        acc = {t: accuracy_from_logits(logits(net, d[f"domains_{t}_{part}_x"], "all"), d[f"domains_{t}_{part}_y"]) for t in ("a", "b")}
    acc["avg"] = 0.5 * (acc["a"] + acc["b"])
    return acc


def has_val(d: dict, setting: str) -> bool:
    return f"{setting}_a_val_x" in d


def ridge_grid(mp: dict) -> list[float]:
    """The ridge values the merge job tries (`merge.ls.ridges`; one value: no selection)."""
    return [float(r) for r in mp["ls"]["ridges"]]


def select_ridge(val_curves: dict, budgets: list[str]) -> float:
    """The ridge whose merged models have the highest mean validation accuracy over the budgets
    below 2x (at 2x every ridge gives the ensemble); ties go to the first value of the grid."""
    below = [b for b in budgets if float(b) < 2.0 - 1e-9] or budgets
    best, score = None, -1.0
    for r, curve in val_curves.items():
        s = float(np.mean([curve[b]["avg"] for b in below]))
        if s > score + 1e-12:
            best, score = r, s
    return float(best)


def _subsample(x: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    if n is None or len(x) <= n:
        return x
    idx = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
    return x[idx]


def _ls_record(probs: dict, sols: dict) -> dict:
    errs = {k: (M.recon_error(pr, pr["W0"]), M.recon_error(pr, sols[k])) for k, pr in probs.items()}
    return {
        "init_mean": float(np.mean([e[0] for e in errs.values()])),
        "ls_mean": float(np.mean([e[1] for e in errs.values()])),
        "layers_lowered": int(sum(e[1] <= e[0] + 1e-12 for e in errs.values())),
        "layers": len(errs),
    }


def _method_order(curves: dict, matchings: dict) -> list[str]:
    """Variants in a fixed order (per matching: perm, pleas, pleas_adam; then pleas_free)."""
    order = []
    for mname in matchings:
        if mname == "free":
            order.append("pleas_free")
            continue
        order += [f"{k}_{mname}" for k in ("perm", "pleas", "pleas_adam")]
    return [v for v in order if v in curves]


def run_pair(net_a, net_b, d: dict, setting: str, p: dict, seed: int, log) -> dict:
    mp = p["merge"]
    bs = mp["batch_size"]
    xa, xb = d[f"{setting}_a_train_x"], d[f"{setting}_b_train_x"]
    xa_m = _subsample(xa, mp["max_samples_per_model"], seed)
    xb_m = _subsample(xb, mp["max_samples_per_model"], seed + 1)
    union = batches_of(np.concatenate([xa_m, xb_m]), bs)
    ba, bb = batches_of(xa_m, bs), batches_of(xb_m, bs)
    public = batches_of(_subsample(d["public_x"], mp["max_samples_per_model"], seed + 2), bs)
    out: dict = {"setting": setting, "seed": seed}

    # references
    if setting == "labels":
        acc_a = accuracy_from_logits(logits(net_a, d["labels_a_test_x"], "a"), d["labels_a_test_y"])
        acc_b = accuracy_from_logits(logits(net_b, d["labels_b_test_x"], "b"), d["labels_b_test_y"])
        out["model_a"] = {"a": acc_a, "avg": acc_a}
        out["model_b"] = {"b": acc_b, "avg": acc_b}
        out["ensemble"] = {"a": acc_a, "b": acc_b, "avg": 0.5 * (acc_a + acc_b)}
    else:
        ea, eb = evaluate_net(net_a, d, setting), evaluate_net(net_b, d, setting)
        out["model_a"], out["model_b"] = ea, eb
        ens = {}
        for t in ("a", "b"):
            lg = 0.5 * (logits(net_a, d[f"domains_{t}_test_x"], "all") + logits(net_b, d[f"domains_{t}_test_x"], "all"))
            ens[t] = accuracy_from_logits(lg, d[f"domains_{t}_test_y"])
        ens["avg"] = 0.5 * (ens["a"] + ens["b"])
        out["ensemble"] = ens
    out["individual_own"] = 0.5 * (out["model_a"]["a"] + out["model_b"]["b"])
    log.info("%s seed %d: A %.4f B %.4f ensemble %.4f", setting, seed, out["model_a"]["a"], out["model_b"]["b"], out["ensemble"]["avg"])

    widths = net_a.widths
    groups = list(widths)
    positions = {**M.output_positions(net_b, union[0]), **M.output_positions(net_a, union[0])}
    table = M.layer_table(net_a, net_b)
    count_heads = setting == "domains"  # per-task heads are not part of the merged backbone
    base_flops = M.merge_flops(table, None, positions, budget_heads=count_heads)

    def layouts_for(perm, score, ratios):
        return {g: M.make_layout(perm[g], score[g], ratios[g]) for g in groups}

    def flops_ratio(layouts):
        return M.merge_flops(table, layouts, positions, budget_heads=count_heads) / base_flops

    # weight averaging without alignment (identity permutation, full merge)
    ip, isc = M.identity_matching(widths)
    lay0 = layouts_for(ip, isc, {g: 0.0 for g in groups})
    avg = M.partial_merge(net_a, net_b, lay0)
    M.reset_bn(avg, union)
    out["weight_avg"] = evaluate_net(avg, d, setting)
    log.info("%s seed %d: weight averaging %.4f", setting, seed, out["weight_avg"]["avg"])

    matchings = {}
    cost = mp.get("activation_cost", M.DEFAULT_ACTIVATION_COST)
    for m in mp["matchings"]:
        if m == "activation":
            matchings[m] = M.activation_matching(net_a, net_b, union, cost)
        else:
            matchings[m] = M.weight_matching(net_a, net_b, seed=seed, max_iter=mp["weight_matching_iters"])
    if "pleas_free" in mp["methods"]:
        matchings["free"] = M.activation_matching(net_a, net_b, public, cost)

    perm0, score0 = next(iter(matchings.values()))
    budgets = [float(b) for b in mp["budgets"]]
    keys = [f"{b:g}" for b in budgets]
    val = has_val(d, setting)
    ridges = ridge_grid(mp)
    curves: dict = {}
    val_curves: dict = {}
    # closed-form variants: every ridge of the grid at every budget, on validation (selection)
    # and on test (recorded beside the selection, never used by it); LS errors per ridge
    grid: dict = {"val": {}, "test": {}, "ls": {}}
    out["flops_ratio"], out["ls_error"] = {}, {}
    out["weight_avg_val"] = evaluate_net(avg, d, setting, "val") if val else None
    for b, key in zip(budgets, keys):
        def ffn(r):
            return flops_ratio(layouts_for(perm0, score0, r))

        ratios = M.ratios_for_budget(b, groups, ffn, mp["ratio_rule"], net_a.group_stage())
        out["flops_ratio"][key] = ffn(ratios)
        for mname, (perm, score) in matchings.items():
            lay = layouts_for(perm, score, ratios)
            use = public if mname == "free" else union
            variants = []
            if mname == "free":
                variants = [("pleas_free", "closed_form")]
            else:
                if "perm" in mp["methods"]:
                    variants.append((f"perm_{mname}", None))
                if "pleas" in mp["methods"]:
                    variants.append((f"pleas_{mname}", "closed_form"))
                if "pleas_adam" in mp["methods"]:
                    variants.append((f"pleas_adam_{mname}", "adam"))
            probs = None
            for vname, solver in variants:
                if solver is not None and probs is None:
                    rows = mp["ls"]["adam_max_rows"] if "pleas_adam" in mp["methods"] else 0
                    probs = M.ls_problems(net_a, net_b, M.partial_merge(net_a, net_b, lay), lay, use, mp["ls"]["positions_per_image"], seed, rows)
                if solver == "closed_form":
                    runs = [(r, {k: M.solve_closed_form(pr, r) for k, pr in probs.items()}) for r in ridges]
                elif solver == "adam":
                    runs = [(None, M.solve_adam(probs, mp["ls"]["adam_steps"], mp["ls"]["adam_lr"], mp["ls"]["adam_batch"], seed))]
                else:
                    runs = [(None, None)]
                for r, sols in runs:
                    net = M.partial_merge(net_a, net_b, lay)
                    if sols is not None:
                        M.set_weights(net, probs, sols)
                    if mname == "free":
                        M.reset_bn(net, public, layouts=lay, keep_private=True)
                    else:
                        M.reset_bn(net, union, ba, bb, lay)
                    acc = evaluate_net(net, d, setting)
                    vacc = evaluate_net(net, d, setting, "val") if val else None
                    if r is None:
                        curves.setdefault(vname, {})[key] = acc
                        if val:
                            val_curves.setdefault(vname, {})[key] = vacc
                        if sols is not None:
                            out["ls_error"].setdefault(vname, {})[key] = _ls_record(probs, sols)
                        log.info("%s seed %d budget %s (flops %.3f) %-22s %.4f", setting, seed, key, out["flops_ratio"][key], vname, acc["avg"])
                    else:
                        rk = f"{r:g}"
                        grid["test"].setdefault(vname, {}).setdefault(rk, {})[key] = acc
                        if val:
                            grid["val"].setdefault(vname, {}).setdefault(rk, {})[key] = vacc
                        grid["ls"].setdefault(vname, {}).setdefault(rk, {})[key] = _ls_record(probs, sols)
                        log.info("%s seed %d budget %s (flops %.3f) %-22s %.4f (ridge %s)", setting, seed, key, out["flops_ratio"][key], vname, acc["avg"], rk)

    # the ridge of each closed-form variant, chosen on validation data; PLeaS-free takes the one
    # chosen for PLeaS with activation matching (it sees no task data itself)
    chosen: dict = {}
    for vname in grid["test"]:
        if vname == "pleas_free":
            continue
        chosen[vname] = select_ridge(grid["val"][vname], keys) if (val and len(ridges) > 1) else ridges[0]
        log.info("%s seed %d: %s ridge %g chosen on validation (grid %s)", setting, seed, vname, chosen[vname], ridges)
    if "pleas_free" in grid["test"]:
        chosen["pleas_free"] = chosen.get("pleas_activation", ridges[0])
    for vname, r in chosen.items():
        rk = f"{r:g}"
        curves[vname] = grid["test"][vname][rk]
        if val:
            val_curves[vname] = grid["val"][vname][rk]
        out["ls_error"][vname] = grid["ls"][vname][rk]
    curves = {v: curves[v] for v in _method_order(curves, matchings)}
    out["val_curves"] = {v: val_curves[v] for v in curves} if val else None
    out["ridge"] = {
        "grid": ridges,
        "chosen": chosen,
        "rule": "per model pair and variant: the ridge with the highest mean validation accuracy over budgets < 2x (ties: the first of the grid); pleas_free uses pleas_activation's",
        "val": grid["val"] if val else None,
        "test": grid["test"],
    }
    out["curves"] = curves
    return out
