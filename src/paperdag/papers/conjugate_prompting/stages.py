"""conjugate_prompting stages.

Synthetic part, per independent run {run}: pretrain (D_mix) -> finetune (D_disc, snapshots) ->
evaluate (losses per prompt and prefix, references, transforms). LM part: lm_finetune per run
(English instruction fine-tune of the pre-trained LM, its own seed) -> lm_probe (ICL vs
instruction-following probe per language, of the pre-trained LM and of each fine-tune). Then
metrics (metrics.json + tables) and figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from paperdag.core.io import load_npz, load_tensors, read_json, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage


def _syn(p: dict) -> dict:
    """The synthetic section's world parameters."""
    return p["synthetic"]


@stage("conjugate_prompting.pretrain")
def pretrain(ctx):
    from . import icl

    from . import plan

    p = _syn(ctx.params)
    seed, _ = plan.syn_seeds(ctx.params, ctx.wildcards["run"])
    t = dict(p["pretrain"], seed=seed)
    seed_everything(seed)
    ctx.log.info("run %s: pre-training seed %d", ctx.wildcards["run"], seed)
    W = icl.discrete_tasks(p)
    model = icl.build_model(p)
    ctx.log.info("model: %d parameters", sum(x.numel() for x in model.parameters()))
    curve = icl.train(model, p, W, "mix", t["steps"], t, ctx.resume_dir(), "pretrain", ctx.log)
    save_tensors(ctx.output.model, model.state_dict(), {"loss_curve": curve, "log_every": t["log_every"]})


@stage("conjugate_prompting.finetune")
def finetune(ctx):
    from . import icl

    from . import plan

    p = _syn(ctx.params)
    f = p["finetune"]
    _, seed = plan.syn_seeds(ctx.params, ctx.wildcards["run"])
    t = dict(f, seed=seed)
    ctx.log.info("run %s: fine-tuning seed %d", ctx.wildcards["run"], seed)
    W = icl.discrete_tasks(p)
    model = icl.build_model(p)
    model.load_state_dict(load_tensors(ctx.input.model))
    rdir = ctx.resume_dir()
    snaps = sorted(f["snapshots"])

    def on_snapshot(step, m):
        save_tensors(rdir / f"ft{step}.final.safetensors", m.state_dict())

    curve = icl.train(model, p, W, "disc", max(snaps), t, rdir, "finetune", ctx.log, snapshots=set(snaps), on_snapshot=on_snapshot)
    out = Path(ctx.output.models)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for s in snaps:
        shutil.copyfile(rdir / f"ft{s}.final.safetensors", tmp / f"ft{s}.safetensors")
    save_tensors(tmp / "curve.safetensors", {"loss": __import__("torch").tensor(curve)})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    for s in snaps:
        (rdir / f"ft{s}.final.safetensors").unlink()


@stage("conjugate_prompting.evaluate")
def evaluate(ctx):
    import torch

    from . import icl, synthetic

    p = _syn(ctx.params)
    W = icl.discrete_tasks(p)
    models = {}
    pre = icl.build_model(p)
    pre.load_state_dict(load_tensors(ctx.input.model))
    models["pre"] = pre
    for s in p["finetune"]["snapshots"]:
        m = icl.build_model(p)
        m.load_state_dict(load_tensors(Path(ctx.input.models) / f"ft{s}.safetensors"))
        models[f"ft{s}"] = m
    torch.manual_seed(0)
    L = synthetic.evaluate(models, p, W)
    pre_meta = load_tensors(ctx.input.model, with_metadata=True)[1]
    ft_curve = load_tensors(Path(ctx.input.models) / "curve.safetensors")["loss"].numpy()
    L["curve|pretrain"] = np.asarray(pre_meta["loss_curve"], dtype=float)
    L["curve|finetune"] = ft_curve.astype(float)
    save_npz(ctx.output.losses, **L)


@stage("conjugate_prompting.lm_tiny")
def lm_tiny(ctx):
    from . import lm_probe

    lm_probe.tiny_stage(ctx)


@stage("conjugate_prompting.lm_finetune")
def lm_finetune(ctx):
    from . import lm_probe

    lm_probe.finetune_stage(ctx)


@stage("conjugate_prompting.lm_probe")
def lm_probe_stage(ctx):
    from . import lm_probe

    lm_probe.probe_stage(ctx)
