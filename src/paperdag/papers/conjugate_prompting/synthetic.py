"""Evaluation of the synthetic experiment: per-prompt, per-prefix losses of every model under
every prompt transform, and of the Bayes references; and the summaries metrics.json holds.

Loss unit: squared error per dimension, (prediction - y)^2 / d (Garg et al.'s normalisation);
the label noise floor is sigma^2 / d."""

from __future__ import annotations

import numpy as np

from . import bayes, icl


def evaluate(models: dict, p: dict, W: np.ndarray) -> dict[str, np.ndarray]:
    """models: name -> ICLRegressor. Returns arrays (n, K) of losses named
    'model|dist|transform' (transform: g<gamma> for label scaling, 'rot' for a random rotation
    of the inputs), 'ref|dist|{ridge,discrete,mixture}', 'pi|dist' (posterior P(discrete)), and
    'dist|task_dist' (n,) the distance of each prompt's task to the nearest discrete task."""
    e = p["eval"]
    d = p["dim"]
    out = {}
    for j, dist in enumerate(("cont", "disc")):
        X, y, w = icl.eval_set(p, W, dist, e["n_prompts"], e["seed"] + 1000 * j)
        ref = bayes.predict_all(X, y, W, p["sigma"], p["tau"], p["alpha"])
        for r in ("ridge", "discrete", "mixture"):
            out[f"ref|{dist}|{r}"] = (ref[r] - y) ** 2 / d
        out[f"pi|{dist}"] = ref["pi"]
        out[f"taskdist|{dist}"] = np.min(np.linalg.norm(w[:, None, :] - W[None], axis=-1), axis=1)
        Q = icl.random_rotations(len(X), d, e["seed"] + 1000 * j + 7)
        Xr = np.einsum("bij,bkj->bki", Q, X)
        for name, m in models.items():
            for g in e["gammas"]:
                out[f"{name}|{dist}|g{g:g}"] = (icl.predict(m, X, y, g) - y) ** 2 / d
            out[f"{name}|{dist}|rot"] = (icl.predict(m, Xr, y) - y) ** 2 / d
    return out


def summarise_run(L: dict, p: dict) -> tuple[dict, dict]:
    """One training run's evaluation -> (its curves / mean losses / bins, its claim values: one
    number per claim, each a mean over that run's evaluation prompts)."""
    e = p["eval"]
    K = p["prompt_len"]
    ft_names = [f"ft{s}" for s in p["finetune"]["snapshots"]]
    models = ["pre"] + ft_names
    ftc = f"ft{p['claims']['finetune_step']}"
    gc = f"g{p['claims']['gamma']:g}"
    curves = {}
    for dist in ("cont", "disc"):
        c = {r: L[f"ref|{dist}|{r}"].mean(0) for r in ("ridge", "discrete", "mixture")}
        for m in models:
            c[m] = L[f"{m}|{dist}|g1"].mean(0)
            c[f"{m}|rot"] = L[f"{m}|{dist}|rot"].mean(0)
        c["pi"] = L[f"pi|{dist}"].mean(0)
        curves[dist] = c
    mean_loss = {
        dist: {m: {t: float(L[f"{m}|{dist}|{t}"].mean()) for t in [f"g{g:g}" for g in e["gammas"]] + ["rot"]} for m in models}
        for dist in ("cont", "disc")
    }
    for dist in ("cont", "disc"):
        for r in ("ridge", "discrete", "mixture"):
            mean_loss[dist][r] = float(L[f"ref|{dist}|{r}"].mean())
    # degradation on D_cont by posterior ambiguity pi (prompt x prefix cells, k >= 1); the bins are
    # the same in every run (same evaluation prompts, closed-form posterior)
    delta = (L[f"{ftc}|cont|g1"] - L["pre|cont|g1"])[:, 1:].ravel()
    pi = L["pi|cont"][:, 1:].ravel()
    edges = np.asarray(p["claims"]["pi_bins"], dtype=float)
    idx = np.clip(np.digitize(pi, edges[1:-1]), 0, len(edges) - 2)
    by_pi = [
        {"lo": float(edges[i]), "hi": float(edges[i + 1]), "n": int((idx == i).sum()), "delta": float(delta[idx == i].mean()) if (idx == i).any() else None}
        for i in range(len(edges) - 1)
    ]
    # task closeness: D_cont prompts whose task is nearer than the median to a discrete task
    per_prompt_delta = (L[f"{ftc}|cont|g1"] - L["pre|cont|g1"]).mean(1)
    td = L["taskdist|cont"]
    close = td <= np.median(td)
    half = K // 2
    d = L[f"{ftc}|cont|g1"] - L["pre|cont|g1"]
    values = {
        "ft_disc_gain": float((L["pre|disc|g1"] - L[f"{ftc}|disc|g1"]).mean()),
        "ft_cont_increase": float(per_prompt_delta.mean()),
        "forgetting_close_minus_far": float(per_prompt_delta[close].mean() - per_prompt_delta[~close].mean()),
        "forgetting_few_minus_many": float((d[:, 1:half].mean(1) - d[:, half:].mean(1)).mean()),
        "cp_gain_cont": float((L[f"{ftc}|cont|g1"] - L[f"{ftc}|cont|{gc}"]).mean()),
        "rotation_removes_disc_advantage": float((L["pre|disc|rot"] - L["pre|disc|g1"]).mean()),
        "pre_excess_over_mixture": float((L["pre|cont|g1"] - L["ref|cont|mixture"]).mean()),
    }
    run = {"curves": curves, "mean_loss": mean_loss, "delta_by_pi": by_pi,
           "delta_close_vs_far": {"close": float(per_prompt_delta[close].mean()), "far": float(per_prompt_delta[~close].mean())}}
    return run, values


def _mean_tree(trees: list):
    """Element-wise mean of identically shaped nested dicts / lists / arrays / numbers (None
    stays None)."""
    t0 = trees[0]
    if isinstance(t0, dict):
        return {k: _mean_tree([t[k] for t in trees]) for k in t0}
    if t0 is None:
        return None
    if isinstance(t0, (int, float, np.floating, np.integer)) and not isinstance(t0, bool):
        return float(np.mean([float(t) for t in trees]))
    if isinstance(t0, list) and t0 and isinstance(t0[0], dict):
        return [_mean_tree([t[i] for t in trees]) for i in range(len(t0))]
    return np.mean([np.asarray(t, dtype=float) for t in trees], axis=0)


def summarise(Ls: list[dict], p: dict) -> tuple[dict, dict]:
    """Independent training runs' evaluations -> (synthetic section of metrics.json: curves, mean
    losses and bins as means over runs, per-run claim values; claims inputs: mean, std and n over
    runs, n = number of runs)."""
    from paperdag.core.stats import mean_std

    e = p["eval"]
    runs = [summarise_run(L, p) for L in Ls]
    syn = _mean_tree([r[0] for r in runs])
    for b, *rest in zip(syn["delta_by_pi"], *[r[0]["delta_by_pi"] for r in runs]):
        b["n"] = rest[0]["n"]  # prompt-prefix cells per bin (the same in every run), not averaged
    ml = syn["mean_loss"]
    ft_names = [f"ft{s}" for s in p["finetune"]["snapshots"]]
    recovery = {}
    for m in ft_names:  # conjugate prompting: recovered fraction of the (mean) forgetting on D_cont
        base_gap = ml["cont"][m]["g1"] - ml["cont"]["pre"]["g1"]
        recovery[m] = {f"{g:g}": (ml["cont"][m]["g1"] - ml["cont"][m][f"g{g:g}"]) / base_gap if base_gap > 0 else None for g in e["gammas"]}
    syn["recovered_fraction"] = recovery
    syn["noise_floor"] = p["sigma"] ** 2 / p["dim"]
    syn["runs"] = len(Ls)
    per_run = {k: [v[k] for _, v in runs] for k in runs[0][1]}
    syn["per_run"] = per_run
    claims = {k: mean_std(v) for k, v in per_run.items()}
    return syn, claims
