"""prepacking's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/prepacking/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("speedup", "time_memory")
TABLES = ("speedup", "packing")
METRICS_CONFIG = ("model", "distributions", "benchmark", "packing_compare")
FIGURES_CONFIG = ("distributions", "paper_reference")
TIMING = True  # measured times, speed-ups and memory go to timing.json, apart from metrics.json
RUNS = ('benchmark.batches',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    base = f"results/{scale}/prepacking"
    return {
        "plan": f"{base}/data/plan.json",
        "packing": f"{base}/data/packing_compare.json",
        "correctness": f"{base}/evals/correctness.json",
        "bench": plan.bench_files(scale, p),
    }
