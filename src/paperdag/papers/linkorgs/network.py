"""The network representation of the alias-URL data and linking through it.

- **bipartite**: the alias-URL bipartite graph with links of at least `min_users` users; its
  connected components are the canonical organisations (directory: alias -> component id).
- **markov**: the alias -> URL -> alias random walk, T[a, a'] = sum_u P(u | a) P(a' | u), clustered
  with Markov clustering (expansion 2, inflation r, self-loops added), run per connected component
  of the full graph (MCL never joins components).
- **linking** (the package's network step): each x- and y-name is matched to directory aliases
  whose distance is within a threshold calibrated for `ave_match_network` matches per name; for
  each (name, canonical id) the closest alias is kept; x and y are linked when they reach a common
  canonical id, at distance rel_thres * max(d(x, alias_x), d(y, alias_y)). The method's final
  distance is min(direct, network).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def bipartite_components(n_alias: int, ea: np.ndarray, eu: np.ndarray, ew: np.ndarray, min_users: float) -> np.ndarray:
    """Component id per alias of the thresholded alias-URL graph (-1: alias has no kept link)."""
    keep = ew >= min_users
    urls, uinv = np.unique(eu, return_inverse=True)
    n = n_alias + len(urls)
    rows = ea[keep]
    cols = n_alias + uinv[keep]
    g = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    _, lab = connected_components(g, directed=False)
    out = lab[:n_alias].astype(np.int64)
    has = np.zeros(n_alias, dtype=bool)
    has[rows] = True
    out[~has] = -1
    return out


def transition_matrix(n_alias: int, ea: np.ndarray, eu: np.ndarray, ew: np.ndarray) -> sp.csr_matrix:
    """T[a, a'] = sum_u P(u | a) P(a' | u) (alias -> URL -> alias)."""
    urls, uinv = np.unique(eu, return_inverse=True)
    w = sp.csr_matrix((ew, (ea, uinv)), shape=(n_alias, len(urls)))
    ra = np.asarray(w.sum(1)).ravel()
    ru = np.asarray(w.sum(0)).ravel()
    p_u_a = sp.diags(1.0 / np.maximum(ra, 1e-12)) @ w
    p_a_u = (w @ sp.diags(1.0 / np.maximum(ru, 1e-12))).T
    return (p_u_a @ p_a_u).tocsr()


def mcl(m: np.ndarray, inflation: float = 2.0, expansion: int = 2, iters: int = 100, tol: float = 1e-8) -> np.ndarray:
    """Markov clustering of a (dense, non-negative) adjacency/transition matrix; returns a cluster
    label per node. Self-loops at each column's largest weight, columns normalized to stochastic;
    expansion and inflation until convergence; a node joins the attractors it flows to."""
    n = len(m)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    a = np.array(m, dtype=np.float64)
    np.fill_diagonal(a, np.maximum(np.diag(a), a.max(0)))  # self-loops at the column's largest weight
    a = a / a.sum(0, keepdims=True)
    for _ in range(iters):
        prev = a
        a = np.linalg.matrix_power(a, expansion)
        a = a**inflation
        a = a / a.sum(0, keepdims=True)
        a[a < 1e-10] = 0.0
        a = a / a.sum(0, keepdims=True)
        if np.abs(a - prev).max() < tol:
            break
    # a node j belongs with every row i it flows to (a[i, j] > 0); nodes sharing an attractor are one
    # cluster (the usual reading of the converged matrix; overlaps merged)
    _, lab = connected_components(sp.csr_matrix(a > 1e-6), directed=False)
    return lab.astype(np.int64)


def markov_clusters(n_alias: int, ea: np.ndarray, eu: np.ndarray, ew: np.ndarray, inflation: float) -> np.ndarray:
    """Cluster id per alias: MCL on the alias-alias transition matrix, one connected component at a time."""
    t = transition_matrix(n_alias, ea, eu, ew)
    t = (t + t.T) / 2.0  # symmetric similarity; MCL normalizes columns
    ncomp, comp = connected_components(t, directed=False)
    out = np.full(n_alias, -1, dtype=np.int64)
    nxt = 0
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(ncomp + 1))
    for c in range(ncomp):
        idx = order[bounds[c] : bounds[c + 1]]
        sub = t[idx][:, idx].toarray()
        lab = mcl(sub, inflation=inflation)
        out[idx] = lab + nxt
        nxt += int(lab.max()) + 1
    return out


def alias_hits(d: np.ndarray, canon: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(name index, canonical id, distance) of the closest directory alias per (name, canonical id)
    among aliases within the threshold (aliases without a canonical id are skipped)."""
    rows, cols = np.nonzero((d <= threshold) & (canon[None, :] >= 0))
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    dist = d[rows, cols]
    cid = canon[cols]
    key = rows.astype(np.int64) * (int(canon.max()) + 1) + cid
    order = np.lexsort((dist, key))
    key, rows, cid, dist = key[order], rows[order], cid[order], dist[order]
    first = np.r_[True, key[1:] != key[:-1]]
    return rows[first].astype(np.int64), cid[first], dist[first]


def network_distance(hx, hy, nx: int, ny: int, rel_thres: float) -> np.ndarray:
    """nx x ny matrix of network distances (inf where x and y reach no common canonical id)."""
    out = np.full((nx, ny), np.inf, dtype=np.float32)
    xi, xc, xd = hx
    yi, yc, yd = hy
    if len(xi) == 0 or len(yi) == 0:
        return out
    oy = np.argsort(yc, kind="stable")
    yi, yc, yd = yi[oy], yc[oy], yd[oy]
    lo = np.searchsorted(yc, xc, side="left")
    hi = np.searchsorted(yc, xc, side="right")
    for k in range(len(xi)):
        if hi[k] > lo[k]:
            js = yi[lo[k] : hi[k]]
            dd = rel_thres * np.maximum(xd[k], yd[lo[k] : hi[k]])
            np.minimum.at(out[xi[k]], js, dd.astype(np.float32))
    return out
