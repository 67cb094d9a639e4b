"""layer_swapping's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/layer_swapping/) and the final-output lists all come from here."""

FIGURES = ("change_heatmap", "german_math")
TABLES = ("main", "configurations")
METRICS_CONFIG = ("merge", "analysis", "paper_reference")
FIGURES_CONFIG = ("paper_reference",)
TIMING = False
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    from .plan import eval_files

    return {"base": f"results/{scale}/layer_swapping/evals/base.json", "evals": eval_files(scale, p)}
