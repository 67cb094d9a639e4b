"""adapt_retrieve_revise's outputs, declared once (see paperdag.core.results): the rule outputs, the
report entries (captions in workflow/report/adapt_retrieve_revise/) and the final-output lists."""

FIGURES = ("systems", "recall_at_k", "draft_source", "iterations")
TABLES = ("table1", "retrieval", "ablations")
CSV_TABLES = ("recall_curve",)  # recall@k by key, averaged over tasks (for `dvc plots`)
METRICS_CONFIG = ("runs", "retrieval", "revise", "paper_reference")
FIGURES_CONFIG = ("paper_reference",)
TIMING = False
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    from .plan import eval_files

    return {"evals": eval_files(scale, p)}
