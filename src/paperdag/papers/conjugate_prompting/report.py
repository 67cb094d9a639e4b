"""conjugate_prompting's outputs, declared once (see paperdag.core.results): the rule outputs, the
report entries (captions in workflow/report/conjugate_prompting/) and the final-output lists."""

FIGURES = ("loss_vs_examples", "conjugate_gamma", "lm_probe")
TABLES = ("synthetic_loss", "conjugate_gamma", "lm_probe")
METRICS_CONFIG = ("synthetic", "lm")
FIGURES_CONFIG = ("synthetic",)
TIMING = False


def metrics_inputs(scale: str, p: dict) -> dict:
    d = {"losses": f"results/{scale}/conjugate_prompting/evals/synthetic.npz"}
    if p["lm"]["enabled"]:
        d["lm"] = f"results/{scale}/conjugate_prompting/evals/lm_probe.json"
    return d
