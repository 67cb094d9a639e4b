"""surfacefusion's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/surfacefusion/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("layer_attention", "spectrum", "embedding_pca", "layer_ablation")
TABLES = ("results", "layer_ablation")
CSV_TABLES = ("learning_curve",)
METRICS_CONFIG = ("variants", "paper_reference")
FIGURES_CONFIG = ("paper_reference",)
TIMING = False
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    return {"evals": plan.eval_files(scale, p)}
