"""cogex's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/cogex/) and the final-output lists all come from here."""

FIGURES = ("search_budget", "ablations")
TABLES = ("table1", "figure4", "diagnostics", "programs")
CSV_TABLES = ("search_budget",)  # the Figure 2 curves, for `dvc plots`
METRICS_CONFIG = ("seed", "data", "search", "fig2", "paper_reference")
FIGURES_CONFIG = ()
TIMING = False
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    from .plan import eval_files

    return {"evals": eval_files(scale, p), "tasks": f"results/{scale}/cogex/data/tasks.json"}
