"""layer_swapping's stages: data -> one fine-tuning job per (expert, run) -> the base model's
evaluation (once) and one merge + evaluation job per run (layer swaps, soup, TIES, the experts,
joint SFT where trained) -> metrics (aggregate.py)."""

from __future__ import annotations

from paperdag.core.io import read_json, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


def _data(ctx) -> dict:
    return read_json(ctx.input.data)


def _load(ctx):
    from .lm import load_model

    return load_model(ctx.params["model"], ctx.input.get("lm") if ctx.params["model"]["source"] == "random" else None)


@stage("layer_swapping.data")
def data(ctx):
    """The generated SFT sets, the MGSM analogue (German + English), validation and NLL text."""
    from . import data as gen

    d = ctx.params["data"]
    out = gen.build(d, ctx.params["seed"]) if d["source"] == "generated" else gen.build_hub(d)
    ctx.log.info("math_sft %d, lang_sft %d, test %d, val %d, nll %d", *(len(out[k]) for k in ("math_sft", "lang_sft", "test", "val", "nll_de")))
    write_json(ctx.output.data, out)


@stage("layer_swapping.train")
def train(ctx):
    """One expert (math | lang | joint) of one independent run, fine-tuned from the base."""
    import torch

    from paperdag.core.resume import Resumer

    from .lm import encode_sft, sft, state_of

    p, t = ctx.params, ctx.params["train"]
    expert, run = ctx.wildcards["expert"], int(ctx.wildcards["run"])
    seed = plan.expert_seed(p, expert, run)
    d = _data(ctx)
    examples = {"math": d["math_sft"], "lang": d["lang_sft"], "joint": d["math_sft"] + d["lang_sft"]}[expert]
    seed_everything(seed)
    torch.use_deterministic_algorithms(True)
    model, tok = _load(ctx)
    enc = encode_sft(tok, examples, t["max_len"])
    steps = t["joint_steps"] if expert == "joint" else t["steps"]
    res = Resumer(ctx.resume_dir(), f"{expert}-run{run}", every=t["resume_every"])
    losses = sft(model, tok, enc, {**t, "steps": steps}, seed, resumer=res, log=ctx.log)
    save_tensors(ctx.output.model, state_of(model), {"expert": expert, "run": run, "seed": seed, "steps": steps,
                                                   "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None})
    res.finish()


@stage("layer_swapping.evaluate_base")
def evaluate_base(ctx):
    """The base model (shared by every run) on the same sets."""
    from .evaluation import evaluate_base as run

    run(ctx)


@stage("layer_swapping.evaluate")
def evaluate(ctx):
    """One run: every merge of the run's experts, the experts and (where trained) joint SFT."""
    from .evaluation import evaluate as run

    run(ctx)
