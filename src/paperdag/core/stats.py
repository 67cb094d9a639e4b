"""THE statistics helper of paperdag: mean ± std over independent runs, as plain dicts that go
into metrics.json (`mean_std`), and Student-t intervals of the mean (`t_bound`, `t_interval`,
`summarize`) that the claims ledger uses for its verdicts and papers may use for their tables.

n is the number of independent runs (training seeds, benchmark batches), never prompts or test
examples drawn from one trained model: those are not independent replicates of the experiment."""

from __future__ import annotations

import functools
import math

import numpy as np


def mean_std(values, runs: int | None = None, keep_values: bool = False) -> dict:
    """mean, std (ddof=1) and n of `values`. Where the values are prompts or examples of fewer
    independent training runs, pass `runs`: the claims ledger then counts runs, not values.
    `keep_values`: also store the values (one per run), which a check over runs needs (it holds
    only if it holds in every run)."""
    values = list(values)
    a = np.asarray([v for v in values if v is not None], dtype=float)
    if a.size == 0:
        out = {"mean": None, "std": None, "n": 0}
    else:
        out = {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0, "n": int(a.size)}
    if runs is not None:
        out["runs"] = int(runs)
    if keep_values:
        out["values"] = [None if v is None else float(v) for v in values]
    return out


@functools.lru_cache(maxsize=4096)
def _t_quantile(level: float, df: int) -> float:
    # scipy.stats is imported here, not at module level: it costs ~0.9 s, and every dry run loads
    # this module (config validation) without computing a single interval
    from scipy import stats as _st

    return float(_st.t.ppf(level, df))


def t_bound(mean: float, std: float, n: int, level: float = 0.95, side: str = "lower") -> float:
    """One-sided Student-t confidence bound of the mean: with probability `level` the true mean is
    >= the "lower" bound (<= the "upper" bound). n < 2 (no replicates, no estimate of the spread)
    gives -inf / +inf: a single measurement bounds nothing. std = 0 with n >= 2 gives the mean."""
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', not {side!r}")
    if n is None or n < 2 or std is None or not math.isfinite(std):
        return -math.inf if side == "lower" else math.inf
    half = _t_quantile(level, n - 1) * std / math.sqrt(n)
    return mean - half if side == "lower" else mean + half


def t_interval(mean: float, std: float, n: int, level: float = 0.90) -> tuple[float, float]:
    """Two-sided Student-t confidence interval of the mean at `level` (a 90 % two-sided interval
    has a one-sided 95 % bound at each end). n < 2 gives (-inf, +inf)."""
    tail = (1.0 + level) / 2.0
    return t_bound(mean, std, n, tail, "lower"), t_bound(mean, std, n, tail, "upper")


def summarize(values, level: float = 0.95) -> dict:
    """mean, std (ddof=1), n, the one-sided `level` bounds and the two-sided `level` interval of the
    mean, over independent runs; bounds are None where n < 2."""
    out = mean_std(values)
    m, s, n = out["mean"], out["std"], out["n"]
    fin = lambda x: x if x is not None and math.isfinite(x) else None  # noqa: E731
    if m is None:
        return {**out, "lower": None, "upper": None, "interval": [None, None], "level": level}
    lo2, hi2 = t_interval(m, s, n, level)
    return {
        **out,
        "level": level,
        "lower": fin(t_bound(m, s, n, level, "lower")),
        "upper": fin(t_bound(m, s, n, level, "upper")),
        "interval": [fin(lo2), fin(hi2)],
    }
