"""dataset_decomposition's outputs, declared once (see paperdag.core.results): the rule outputs,
the report entries (captions in workflow/report/dataset_decomposition/) and the final-output lists."""

FIGURES = ("length_hist", "loss_vs_tokens", "loss_vs_seconds", "cost_model")
TABLES = ("methods", "curriculum", "cost_model")
CSV_TABLES = ("val_loss", "val_loss_seconds")  # curves (for `dvc plots`; the figures read them)
FIGURE_TABLES = ("val_loss", "val_loss_seconds")  # tables the figures read, besides metrics and timing
METRICS_CONFIG = ("decompose", "train", "methods", "run_methods", "seeds", "ablation_seeds", "baseline", "dm_baseline", "main_dd", "ablation", "paper_reference")
FIGURES_CONFIG = ("methods", "run_methods", "seeds", "ablation_seeds", "baseline", "dm_baseline", "main_dd", "train", "paper_reference")
TIMING = True  # measured seconds (training steps, the cost probe) go to timing.json
RUNS = ('seeds',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    from .plan import run_files, timing_files

    base = f"results/{scale}/dataset_decomposition"
    return {
        "runs": run_files(scale, p),
        "timings": timing_files(scale, p),
        "stats": f"{base}/data/decomposition.json",
        "analytic": f"{base}/cost/analytic.json",
        "measured": f"{base}/cost/measured.json",
    }
