"""pleas' outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/pleas/) and the final-output lists all come from here."""

FIGURES = ("accuracy_vs_budget",)
TABLES = ("labels", "domains", "selection")
CSV_TABLES = ("curves",)  # long-format accuracy curves, for `dvc plots`
METRICS_CONFIG = ("claims_matching", "claims_small_budget", "claims_large_budget", "data", "merge")
FIGURES_CONFIG = ("settings",)
TIMING = False
RUNS = ('seeds',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    """One evaluation per setting and model pair."""
    from .plan import eval_files

    return {"evals": eval_files(scale, p)}
