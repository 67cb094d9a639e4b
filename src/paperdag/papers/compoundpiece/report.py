"""compoundpiece's outputs, declared once (see paperdag.core.results): the rule outputs, the report
entries (captions in workflow/report/compoundpiece/) and the final-output lists all come from here."""

from . import plan

FIGURES = ("main_accuracy", "llm_easy_hard", "hard_rate", "training_curves")
TABLES = ("main", "per_language", "llm", "tokenizers", "silver")
CSV_TABLES = ("accuracy",)  # numeric means per method (data for `dvc plots`)
METRICS_CONFIG = ("runs", "data", "baselines", "llm")
FIGURES_CONFIG = ("paper_reference",)
TIMING = False
RUNS = ('runs',)  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    return {
        "data": f"results/{scale}/compoundpiece/data/words.json",
        "models": plan.eval_files(scale, p),
        "tokenizers": plan.tokenizer_files(scale, p),
        "baselines": f"results/{scale}/compoundpiece/evals/baselines.json",
        "llm": plan.llm_files(scale, p),
    }
