"""catn's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/catn/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("linear_probe", "weight_decay")
TABLES = ("linear_probe", "weight_decay")
METRICS_CONFIG = ("claims_n", "weight_decays", "paper_reference")
FIGURES_CONFIG = ("paper_reference", "data")
TIMING = False
RUNS = ('seed_sets',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    return {"evals": plan.eval_files(scale, p)}
