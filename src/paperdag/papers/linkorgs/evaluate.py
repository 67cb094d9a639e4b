"""Every linkage method on every application of one run (one corpus, one trained model).

Methods (distance matrices x-names by y-names, lower = closer):
- `fuzzy_jaccard`, `fuzzy_jw`: Jaccard on character 2-grams, Jaro-Winkler (rapidfuzz);
- `lookup`: exact alias membership (both names are directory aliases linked to a common URL);
- `ml`: the learned model's embedding distance; `ml_untrained`: the same encoder at its
  initialisation (the trivial control of what training learns);
- `minilm`: cosine distance of all-MiniLM-L6-v2 sentence embeddings (embedding baseline);
- `bipartite`, `markov`: network linking with Jaccard distances to the directory, union with the
  direct Jaccard matches; `bipartite_ml`, `markov_ml`: the same with the learned distance.
Each method's curve sweeps the calibrated levels (expected matches per name); its operating point
is the level with the highest F2 on the validation list and is then used on the test list, the
regression and the temporal list.
"""

from __future__ import annotations

import time

import numpy as np

from . import matching as mt
from . import network as nw
from .corpus import normalize, truth_pairs

DIRECT = ("fuzzy_jaccard", "fuzzy_jw", "ml", "ml_untrained", "minilm")
NETWORK = ("bipartite", "markov", "bipartite_ml", "markov_ml")
METHODS = ("fuzzy_jaccard", "fuzzy_jw", "lookup", "minilm", "ml", "ml_untrained") + NETWORK
BASE = {"bipartite": "fuzzy_jaccard", "markov": "fuzzy_jaccard", "bipartite_ml": "ml", "markov_ml": "ml"}
TASKS = ("val", "test", "regression", "temporal")


def ols(x: np.ndarray, y: np.ndarray) -> dict:
    """Slope of y on x with an intercept, its standard error and 95 % t-interval."""
    from scipy.stats import t as student

    n = len(x)
    if n < 3:
        return {"slope": None, "se": None, "lo": None, "hi": None, "n": int(n)}
    xc = x - x.mean()
    b = float((xc * (y - y.mean())).sum() / (xc**2).sum())
    a = y.mean() - b * x.mean()
    resid = y - a - b * x
    se = float(np.sqrt((resid**2).sum() / (n - 2) / (xc**2).sum()))
    q = float(student.ppf(0.975, n - 2))
    return {"slope": b, "se": se, "lo": b - q * se, "hi": b + q * se, "n": int(n)}


class Linker:
    """Distances of one run: the directory, its two canonical-id maps, and the embeddings."""

    def __init__(self, corpus: dict, p: dict, emb_ml, emb_ml0, emb_minilm: dict):
        from .corpus import directory

        n = p["network"]
        self.p = p
        self.dir_names, ea, eu, ew = directory(corpus)
        t0 = time.perf_counter()
        self.canon = {"bipartite": nw.bipartite_components(len(self.dir_names), ea, eu, ew, n["min_users"])}
        self.timing = {"bipartite_graph": time.perf_counter() - t0}
        t0 = time.perf_counter()
        self.canon["markov"] = nw.markov_clusters(len(self.dir_names), ea, eu, ew, n["inflation"])
        self.timing["markov_graph"] = time.perf_counter() - t0
        self.dir_url = {}
        for a, u in zip(ea, eu):
            self.dir_url.setdefault(self.dir_names[a], set()).add(int(u))
        self.emb = {"ml": emb_ml, "ml_untrained": emb_ml0}
        self.minilm = emb_minilm
        self._cache: dict = {}

    def _embs(self, key: str, names: list[str]) -> np.ndarray:
        if key == "minilm":
            return np.stack([self.minilm[s] for s in names])
        return self.emb[key](names)

    def direct(self, key: str, x: list[str], y: list[str]) -> np.ndarray:
        if key == "fuzzy_jaccard":
            return mt.jaccard_distance(x, y, self.p["network"]["qgram"])
        if key == "fuzzy_jw":
            return mt.jaro_winkler_distance(x, y)
        if key == "minilm":
            return mt.cosine_distance(self._embs(key, x), self._embs(key, y))
        return mt.euclidean_rms(self._embs(key, x), self._embs(key, y))

    def to_directory(self, key: str, names: list[str], tag: str | None = None):
        """Distances of names to all directory aliases and the calibrated alias-step threshold."""
        if tag is not None and (key, tag) in self._cache:
            return self._cache[(key, tag)]
        d = self.direct(key, names, self.dir_names)
        ix, iy = mt.calibration_sample(len(names), len(self.dir_names), self.p["seed"])
        thr = mt.calibrated_threshold(d[np.ix_(ix, iy)], self.p["network"]["ave_match_network"])
        out = (d, thr)
        if tag is not None:
            self._cache[(key, tag)] = out
        return out

    def lookup(self, x: list[str], y: list[str]) -> np.ndarray:
        out = np.full((len(x), len(y)), np.inf, dtype=np.float32)
        yu = [self.dir_url.get(s, set()) for s in y]
        for i, s in enumerate(x):
            ux = self.dir_url.get(s)
            if ux:
                for j, u in enumerate(yu):
                    if u and ux & u:
                        out[i, j] = 0.0
        return out

    def network(self, method: str, x: list[str], y: list[str], d_direct: np.ndarray) -> np.ndarray:
        base = BASE[method]
        canon = self.canon[method.split("_")[0]]
        dx, tx = self.to_directory(base, x)
        dy, ty = self.to_directory(base, y, tag="registry")
        hx = nw.alias_hits(dx, canon, tx)
        hy = nw.alias_hits(dy, canon, ty)
        dn = nw.network_distance(hx, hy, len(x), len(y), self.p["network"]["rel_thres"])
        return np.minimum(d_direct, dn)


def run_all(corpus: dict, tk: dict, p: dict, linker: Linker, log=None) -> dict:
    """Curves per task and method, the validation-chosen operating points, KS, the regression
    and the temporal contrast; timings apart (they are not deterministic)."""
    levels = [float(v) for v in p["levels"]]
    y = [normalize(s) for s in tk["y_names"]]
    y_org = np.asarray(tk["y_org"])
    out: dict = {"levels": levels, "curves": {}, "timing": dict(linker.timing)}
    mats: dict = {}
    for task in TASKS:
        x = [normalize(s) for s in tk[task]["x_names"]]
        truth = truth_pairs(np.asarray(tk[task]["x_org"]), y_org)
        ix, iy = mt.calibration_sample(len(x), len(y), p["seed"])
        curves, dists = {}, {}
        for m in METHODS:
            t0 = time.perf_counter()
            if m == "lookup":
                d = linker.lookup(x, y)
            elif m in NETWORK:
                d = linker.network(m, x, y, dists[BASE[m]])
            else:
                d = linker.direct(m, x, y)
            dists[m] = d
            out["timing"][f"{task}/{m}"] = time.perf_counter() - t0
            if m == "lookup":
                curves[m] = [mt.assess(d <= 0, truth)]
                continue
            base = d if m not in NETWORK else dists[BASE[m]]
            sample = base[np.ix_(ix, iy)]
            curves[m] = [mt.assess(d <= mt.calibrated_threshold(sample, lv), truth) | {"threshold": mt.calibrated_threshold(sample, lv)} for lv in levels]
        out["curves"][task] = curves
        mats[task] = (dists, truth)
        if log is not None:
            log.info("%s: %s", task, {m: round(max(c["f2"] for c in curves[m]), 3) for m in METHODS})
    # operating points chosen on validation (highest F2; ties -> the smaller level)
    chosen = {m: (0 if m == "lookup" else int(np.argmax([c["f2"] for c in out["curves"]["val"][m]]))) for m in METHODS}
    out["chosen_level"] = {m: (None if m == "lookup" else levels[k]) for m, k in chosen.items()}
    at = {task: {m: out["curves"][task][m][chosen[m]] for m in METHODS} for task in TASKS}
    out["at_chosen"] = at
    # KS separation on the test list (all pairs)
    dists, truth = mats["test"]
    out["ks"] = {m: mt.ks_statistic(dists[m], truth) for m in METHODS if m != "lookup"}
    # recall on x-names written as a dissimilar alias (test list)
    kinds = np.array([k.startswith("dissimilar") for k in tk["test"]["x_kind"]])
    out["dissimilar_tpr"] = {}
    for m in METHODS:
        thr = 0.0 if m == "lookup" else at["test"][m]["threshold"]
        pred = dists[m][kinds] <= thr
        out["dissimilar_tpr"][m] = mt.assess(pred, truth[kinds])["tpr"] if kinds.any() else None
    out["n_dissimilar_test"] = int(kinds.sum())
    # application 2: slope of log lobbying on the linked firm's log assets
    dists, truth = mats["regression"]
    reg = tk["regression"]
    ly = np.asarray(reg["log_lobby"])
    ya = np.asarray(tk["y_log_assets"])
    tj = np.where(truth.any(1), np.argmax(truth, 1), -1)
    out["regression"] = {"truth": ols(ya[tj[tj >= 0]], ly[tj >= 0])}
    for m in METHODS:
        thr = 0.0 if m == "lookup" else at["regression"][m]["threshold"]
        j = mt.best_link(dists[m], thr)
        r = ols(ya[j[j >= 0]], ly[j >= 0])
        r["correct_share"] = float(np.mean(j[j >= 0] == tj[j >= 0])) if (j >= 0).any() else None
        out["regression"][m] = r
    return out
