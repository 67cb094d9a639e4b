"""String distances, the package's threshold calibration and its match assessment.

Every method gives a distance matrix D (nx x ny, lower = closer; inf = never linked). A method's
matched set at threshold t is {(i, j): D[i, j] <= t}; thresholds come from the calibration rule of
the package (`GetCalibratedDistThres`): the quantile q = L sqrt(nx ny) / (nx ny) of the distances
of a sample of (up to 1000) x-names against (up to 1000) y-names, where L is the expected number of
matches per name (`AveMatchNumberPerAlias`), so that methods are compared at equal expected
matched-set sizes, not at raw thresholds.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def qgram_matrix(names: list[str], vocab: dict[str, int] | None = None, q: int = 2):
    """Binary names x q-grams incidence (CSR) and the vocabulary (grown when given one)."""
    vocab = {} if vocab is None else vocab
    rows, cols = [], []
    for i, s in enumerate(names):
        grams = {s[k : k + q] for k in range(len(s) - q + 1)} if len(s) >= q else {s}
        for g in grams:
            if g not in vocab:
                vocab[g] = len(vocab)
            rows.append(i)
            cols.append(vocab[g])
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(names), max(1, len(vocab))))
    return m, vocab


def jaccard_distance(x: list[str], y: list[str], q: int = 2) -> np.ndarray:
    """1 - |G(x) & G(y)| / |G(x) | G(y)| over character q-gram sets (stringdist's "jaccard")."""
    vocab: dict[str, int] = {}
    mx, vocab = qgram_matrix(x, vocab, q)
    my, vocab = qgram_matrix(y, vocab, q)
    n = len(vocab)
    mx = sp.csr_matrix((mx.data, mx.indices, mx.indptr), shape=(mx.shape[0], n))
    my = sp.csr_matrix((my.data, my.indices, my.indptr), shape=(my.shape[0], n))
    inter = (mx @ my.T).toarray()
    sx = np.asarray(mx.sum(1)).ravel()
    sy = np.asarray(my.sum(1)).ravel()
    union = sx[:, None] + sy[None, :] - inter
    return (1.0 - inter / np.maximum(union, 1.0)).astype(np.float32)


def jaro_winkler_distance(x: list[str], y: list[str]) -> np.ndarray:
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cdist

    return cdist(x, y, scorer=JaroWinkler.normalized_distance, dtype=np.float32, workers=1)


def euclidean_rms(ex: np.ndarray, ey: np.ndarray) -> np.ndarray:
    """The learned model's distance: sqrt(mean_k (e_ik - e_jk)^2)."""
    sq = (ex**2).sum(1)[:, None] + (ey**2).sum(1)[None, :] - 2.0 * ex @ ey.T
    return np.sqrt(np.maximum(sq, 0.0) / ex.shape[1]).astype(np.float32)


def cosine_distance(ex: np.ndarray, ey: np.ndarray) -> np.ndarray:
    nx = ex / np.maximum(np.linalg.norm(ex, axis=1, keepdims=True), 1e-12)
    ny = ey / np.maximum(np.linalg.norm(ey, axis=1, keepdims=True), 1e-12)
    return (1.0 - nx @ ny.T).astype(np.float32)


def calibration_sample(nx: int, ny: int, seed: int, cap: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ix = np.sort(rng.choice(nx, min(nx, cap), replace=False))
    iy = np.sort(rng.choice(ny, min(ny, cap), replace=False))
    return ix, iy


def calibrated_threshold(sample: np.ndarray, ave_match: float) -> float:
    """`GetCalibratedDistThres`: the q-quantile of a sample of pairwise distances with
    q = ave_match * sqrt(nx ny) / (nx ny), floored at 1e-6."""
    nx, ny = sample.shape
    q = max(ave_match * np.sqrt(nx * ny) / (nx * ny), 1e-6)
    return float(np.quantile(sample[np.isfinite(sample)], min(q, 1.0)))


def assess(pred: np.ndarray, truth: np.ndarray) -> dict:
    """`AssessMatchPerformance` on boolean nx x ny matrices of (deduplicated) pairs: TP, FP, FN, TN,
    matched-set size, true-positive rate (recall), precision and F2 = 5 P R / (4 P + R)."""
    tp = int(np.logical_and(pred, truth).sum())
    fp = int(pred.sum()) - tp
    fn = int(truth.sum()) - tp
    tn = int(pred.size) - tp - fp - fn
    tpr = tp / max(1, tp + fn)
    prec = tp / max(1, tp + fp)
    f2 = 5 * prec * tpr / (4 * prec + tpr) if tp > 0 else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "matched": tp + fp, "tpr": tpr, "precision": prec, "f2": f2}


def ks_statistic(d: np.ndarray, truth: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance between the distances of matching and non-matching
    pairs (how well the distance separates them; 1 = perfectly)."""
    from scipy.stats import ks_2samp

    pos, neg = d[truth], d[~truth]
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if len(pos) == 0 or len(neg) == 0:
        return 0.0
    return float(ks_2samp(pos, neg).statistic)


def best_link(d: np.ndarray, threshold: float) -> np.ndarray:
    """For each x, the index of its closest y within the threshold (-1: none); ties -> lowest j."""
    j = np.argmin(d, axis=1)
    ok = d[np.arange(len(d)), j] <= threshold
    return np.where(ok, j, -1)
