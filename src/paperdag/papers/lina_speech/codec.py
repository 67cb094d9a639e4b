"""The stand-in codec: log-mel frames quantised by residual k-means (Q codebooks), and the
MusicGen-style delay pattern of Lina's `delay_rvq` / `undelay_rvq`.

Tokens: pad 0, head 1, tail 2, code c -> c + 3. For codes [T, Q], the delayed sequence has
T + Q + 1 rows: codebook q holds q + 1 head tokens, its T codes, one tail token, then pads.
"""

from __future__ import annotations

import numpy as np

PAD, HEAD, TAIL = 0, 1, 2
NSPECIAL = 3


def fit_rvq(frames: np.ndarray, n_q: int, n_codes: int, seed: int, max_iter: int = 50) -> np.ndarray:
    """Residual k-means (scikit-learn KMeans, k-means++ init, one init, seeded): codebook q is fit
    on the residual left by codebooks < q. Returns centroids [Q, K, F] (float32)."""
    from sklearn.cluster import KMeans

    res = frames.astype(np.float64)
    books = []
    for q in range(n_q):
        km = KMeans(n_clusters=n_codes, n_init=1, max_iter=max_iter, random_state=seed + q).fit(res)
        c = km.cluster_centers_
        books.append(c)
        res = res - c[km.labels_]
    return np.stack(books).astype(np.float32)


def rvq_encode(frames: np.ndarray, books: np.ndarray) -> np.ndarray:
    """Greedy residual quantisation: frames [T, F] -> codes [T, Q] (int64)."""
    res = frames.astype(np.float32)
    codes = []
    for c in books:
        d = (res**2).sum(1, keepdims=True) - 2 * res @ c.T + (c**2).sum(1)[None]
        i = d.argmin(1)
        codes.append(i)
        res = res - c[i]
    return np.stack(codes, 1).astype(np.int64)


def rvq_decode(codes: np.ndarray, books: np.ndarray) -> np.ndarray:
    """codes [T, Q] -> frames [T, F]: the sum of the chosen centroids."""
    out = np.zeros((len(codes), books.shape[2]), dtype=np.float32)
    for q in range(codes.shape[1]):
        out += books[q][codes[:, q]]
    return out


def delay(codes: np.ndarray) -> np.ndarray:
    """codes [T, Q] (0..K-1) -> delayed tokens [T + Q + 1, Q]."""
    T, Q = codes.shape
    out = np.full((T + Q + 1, Q), PAD, dtype=np.int64)
    for q in range(Q):
        out[: q + 1, q] = HEAD
        out[q + 1 : q + 1 + T, q] = codes[:, q] + NSPECIAL
        out[q + 1 + T, q] = TAIL
    return out


def undelay(tokens: np.ndarray) -> np.ndarray:
    """Inverse of `delay`, also for generated sequences: T = the frames for which every codebook
    holds a code (stops at codebook 0's tail or at the end); non-code tokens become code 0."""
    tokens = np.asarray(tokens)
    n, Q = tokens.shape
    tails = np.nonzero(tokens[:, 0] == TAIL)[0]
    T = int(tails[0]) - 1 if len(tails) else n - Q
    T = max(0, min(T, n - Q))
    codes = np.stack([tokens[q + 1 : q + 1 + T, q] for q in range(Q)], 1) - NSPECIAL
    return np.where(codes >= 0, codes, 0).astype(np.int64)
