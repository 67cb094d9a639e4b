"""cogex: evaluations -> metrics (mean ± std over independent runs) and tables; writes nothing."""

from __future__ import annotations

import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std


def aggregate(inputs: dict, p: dict) -> Results:
    ev = read_json(inputs["evals"])
    runs, control = ev["run_mse"], ev["control_mse"]
    metrics = {
        "units": "test mean squared error; mean ± std over independent training runs (n)",
        "run_mse": runs,
        "control_mse": control,
        "claims_inputs": {"mse_gain_over_mean": mean_std([control - r for r in runs])},
    }
    df = pd.DataFrame([{"predictor": f"run {i}", "test_mse": r} for i, r in enumerate(runs)] + [{"predictor": "control: training mean", "test_mse": control}])
    table = Table(df, title="cogex: test error per run", note=f"{len(runs)} independent training runs.", floatfmt=".4f")
    return Results(metrics, {"results": table})
