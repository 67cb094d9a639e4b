"""Datasets that more than one paper uses (no paper imports another paper's package).

- `digits()`: scikit-learn's bundled 8x8 digits (offline), pixels scaled to [0, 1].
- `stratified_split(y, idx, fracs, rng)`: per class, a seeded permutation cut into
  len(fracs) + 1 parts (the fractions in order, the rest last); used for every digits split.
"""

from __future__ import annotations

import numpy as np


def digits() -> tuple[np.ndarray, np.ndarray]:
    """(X float32 in [0, 1] of shape (1797, 64), y int64)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)


def stratified_split(y: np.ndarray, idx: np.ndarray, fracs, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Split the indices `idx` class by class: each class's indices are permuted by `rng`, then cut
    into parts of round(frac * size) for each fraction, the rest forming the last part. Returns
    len(fracs) + 1 sorted index arrays."""
    fracs = tuple(fracs)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fracs) + 1)]
    for c in np.unique(y[idx]):
        ids = rng.permutation(idx[y[idx] == c])
        start = 0
        for part, f in zip(parts, fracs):
            k = int(round(f * len(ids)))
            part.append(ids[start : start + k])
            start += k
        parts[-1].append(ids[start:])
    return tuple(np.sort(np.concatenate(p)) for p in parts)
