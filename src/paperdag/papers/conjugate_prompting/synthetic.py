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


def _ms(per_prompt: np.ndarray) -> dict:
    a = np.asarray(per_prompt, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)), "n": int(a.size)}


def _two_sample(a: np.ndarray, b: np.ndarray) -> dict:
    """mean(a) - mean(b) with the Welch standard error, stored as {mean, std, n} such that
    std / sqrt(n) is that standard error (the claims ledger's convention)."""
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    n = len(a) + len(b)
    return {"mean": diff, "std": se * np.sqrt(n), "n": n}


def summarise(L: dict, p: dict) -> tuple[dict, dict]:
    """-> (synthetic section of metrics.json, claims inputs)."""
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
    # conjugate prompting: recovered fraction of the forgetting on D_cont, per gamma and snapshot
    recovery = {}
    for m in ft_names:
        base_gap = mean_loss["cont"][m]["g1"] - mean_loss["cont"]["pre"]["g1"]
        recovery[m] = {
            f"{g:g}": (mean_loss["cont"][m]["g1"] - mean_loss["cont"][m][f"g{g:g}"]) / base_gap if base_gap > 0 else None
            for g in e["gammas"]
        }
    # degradation on D_cont by posterior ambiguity pi (prompt x prefix cells, k >= 1)
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
    syn = {
        "curves": curves,
        "mean_loss": mean_loss,
        "recovered_fraction": recovery,
        "delta_by_pi": by_pi,
        "delta_close_vs_far": {"close": float(per_prompt_delta[close].mean()), "far": float(per_prompt_delta[~close].mean())},
        "noise_floor": p["sigma"] ** 2 / p["dim"],
    }
    claims = {
        "ft_disc_gain": _ms((L["pre|disc|g1"] - L[f"{ftc}|disc|g1"]).mean(1)),
        "ft_cont_increase": _ms(per_prompt_delta),
        "forgetting_close_minus_far": _two_sample(per_prompt_delta[close], per_prompt_delta[~close]),
        "forgetting_few_minus_many": _ms((L[f"{ftc}|cont|g1"] - L["pre|cont|g1"])[:, 1:half].mean(1) - (L[f"{ftc}|cont|g1"] - L["pre|cont|g1"])[:, half:].mean(1)),
        "cp_gain_cont": _ms((L[f"{ftc}|cont|g1"] - L[f"{ftc}|cont|{gc}"]).mean(1)),
        "cp_recovered_fraction": recovery[ftc][f"{p['claims']['gamma']:g}"],
        "rotation_removes_disc_advantage": _ms((L["pre|disc|rot"] - L["pre|disc|g1"]).mean(1)),
        "pre_excess_over_mixture": _ms((L["pre|cont|g1"] - L["ref|cont|mixture"]).mean(1)),
    }
    return syn, claims
