"""lina_speech's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/lina_speech/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("adaptation", "efficiency", "spectrograms")
TABLES = ("adaptation", "efficiency", "codec")
CSV_TABLES = ("pretrain_curve",)
METRICS_CONFIG = ("adapt", "data", "paper_reference")
FIGURES_CONFIG = ("paper_reference",)
TIMING = True  # decode-step times go to timing.json, apart from metrics.json
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    base = f"results/{scale}/lina_speech"
    return {"evals": plan.adapt_files(scale, p), "bench": f"{base}/evals/bench.json", "info": f"{base}/data/info.json"}
