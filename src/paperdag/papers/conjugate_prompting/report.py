"""conjugate_prompting's outputs, declared once (see paperdag.core.results): the rule outputs, the
report entries (captions in workflow/report/conjugate_prompting/) and the final-output lists."""

FIGURES = ("loss_vs_examples", "conjugate_gamma", "lm_probe")
TABLES = ("synthetic_loss", "conjugate_gamma", "lm_probe")
METRICS_CONFIG = ("synthetic", "lm")
FIGURES_CONFIG = ("synthetic",)
TIMING = False
RUNS = ('synthetic.runs', 'lm.runs')  # config keys that count independent runs (README, Verdicts: adding runs reruns only the new runs' jobs)


def metrics_inputs(scale: str, p: dict) -> dict:
    """One evaluation per independent training run (Part 1) and the probes of the pre-trained LM
    and of every fine-tune run (Part 2)."""
    from . import plan

    d = {"losses": plan.syn_eval_files(scale, p)}
    if p["lm"]["enabled"]:
        d.update(plan.lm_probe_files(scale, p))
    return d
