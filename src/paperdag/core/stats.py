"""Mean ± std over seeds, as plain dicts that go into metrics.json."""

from __future__ import annotations

import numpy as np


def mean_std(values) -> dict:
    a = np.asarray([v for v in values if v is not None], dtype=float)
    if a.size == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0, "n": int(a.size)}
