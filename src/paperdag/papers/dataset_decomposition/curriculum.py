"""Variable sequence length batches and the length curriculum (paper Appendix B.2, Algorithm 1).

Every optimisation step takes one whole batch from one bucket D_i, with b / 2^i sequences, so the
number of tokens per step is always b. n_i tokens are drawn from each bucket (the mixture) and
split into c equal parts (cycles). Within a cycle, while some bucket still has batches, bucket i is
drawn with probability o_i / sum_j o_j over the buckets that still have batches left in this cycle
(exhausted buckets get odds 0)."""

from __future__ import annotations

import numpy as np

CURRICULA = {
    # odds for buckets ordered from the shortest to the longest (paper Table 2, D8..D13)
    "uniform": lambda n: [1.0] * n,
    "grow_linear": lambda n: [float(n - j) for j in range(n)],  # 6 5 4 3 2 1
    "grow_p2": lambda n: [float(2 ** (n - 1 - j)) for j in range(n)],  # 32 16 8 4 2 1
    "grow_p100": lambda n: [float(100 ** (n - 1 - j)) for j in range(n)],
}


def odds(name: str, n_buckets: int) -> np.ndarray:
    return np.asarray(CURRICULA[name](n_buckets), dtype=np.float64)


def split_cycles(n: int, cycles: int) -> list[int]:
    """n batches split into `cycles` parts as equal as possible (earlier parts get the extra)."""
    base, extra = divmod(n, cycles)
    return [base + (1 if j < extra else 0) for j in range(cycles)]


def schedule(batches_per_bucket: list[int], bucket_odds, cycles: int, seed: int) -> list[int]:
    """Algorithm 1: the bucket index (0 = shortest) of every optimisation step, in order."""
    rng = np.random.default_rng(seed)
    o = np.asarray(bucket_odds, dtype=np.float64)
    parts = np.array([split_cycles(n, cycles) for n in batches_per_bucket])  # (buckets, cycles)
    steps = []
    for j in range(cycles):
        left = parts[:, j].copy()
        while left.sum() > 0:
            w = np.where(left > 0, o, 0.0)
            i = int(rng.choice(len(o), p=w / w.sum()))
            steps.append(i)
            left[i] -= 1
    return steps


def mixture_tokens(total_tokens: int, bucket_sizes: list[int], kind: str, tokens_per_step: int) -> list[int]:
    """Batches to draw from each bucket: `equal` (the same number of tokens from every bucket,
    paper Table 2) or `natural` (proportional to the bucket's share of the decomposed corpus)."""
    steps = total_tokens // tokens_per_step
    nb = len(bucket_sizes)
    if kind == "equal":
        share = np.full(nb, 1.0 / nb)
    elif kind == "natural":
        s = np.asarray(bucket_sizes, dtype=np.float64)
        share = s / s.sum()
    else:
        raise ValueError(kind)
    raw = share * steps
    n = np.floor(raw).astype(int)
    # largest remainders get the leftover steps, so the total is exactly `steps`
    for k in np.argsort(-(raw - n), kind="stable")[: steps - n.sum()]:
        n[k] += 1
    return n.tolist()
