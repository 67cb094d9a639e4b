"""linkorgs's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/linkorgs/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("task1_curves", "coefficients", "runtime")
TABLES = ("task1", "temporal", "ks", "regression")
CSV_TABLES = ("curves",)
METRICS_CONFIG = ("paper_reference", "tasks")
FIGURES_CONFIG = ("paper_reference",)
TIMING = True
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    return {"evals": plan.eval_files(scale, p)}
