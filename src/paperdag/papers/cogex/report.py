"""cogex's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/cogex/) and the final-output lists all come from here."""

FIGURES = ("fit",)
TABLES = ("results",)
METRICS_CONFIG = ()
FIGURES_CONFIG = ()
TIMING = False


def metrics_inputs(scale: str, p: dict) -> dict:
    return {"evals": f"results/{scale}/cogex/evals/evals.json"}
