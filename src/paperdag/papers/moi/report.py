"""moi's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/moi/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("strategies", "prompts", "masks", "curves")
TABLES = ("strategies", "prompts", "masks", "prompt_gap")
CSV_TABLES = ("curves",)
METRICS_CONFIG = ("strategies", "runs")
FIGURES_CONFIG = ()
TIMING = False
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    return {"evals": plan.eval_files(scale, p), "sensitivity": plan.sensitivity_files(scale, p)}
