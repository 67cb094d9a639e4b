"""metrics.json and the tables, from the evaluation outputs only (no model code)."""

from __future__ import annotations

import pandas as pd

from paperdag.core.io import load_npz, read_json
from paperdag.core.results import Results, Table

from . import lm_probe, synthetic


def _files(x) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def aggregate(inputs: dict, p: dict) -> Results:
    Ls = [load_npz(f) for f in _files(inputs["losses"])]
    lm = None
    if "lm_pre" in inputs:
        pre = read_json(inputs["lm_pre"])
        fts = [read_json(f) for f in _files(inputs["lm_ft"])]
        lm = lm_probe.summarise(pre["cells"], [f["cells"] for f in fts], p["lm"], {"pretrained": pre["model"], "finetuned": fts[0]["model"]})
    tables: dict[str, Table] = {}
    syn, claims = synthetic.summarise(Ls, p["synthetic"])
    s = p["synthetic"]
    metrics = {
        "synthetic": syn,
        "claims_inputs": claims,
        "loss_curves": {"pretrain": [L["curve|pretrain"] for L in Ls], "finetune": [L["curve|finetune"] for L in Ls], "log_every": [s["pretrain"]["log_every"], s["finetune"]["log_every"]]},
    }
    if lm is not None:
        metrics["lm"] = lm["summary"]
        metrics["claims_inputs"].update(lm["claims_inputs"])

    # Table: mean loss over prefixes k = 0..K-1 (per-dimension MSE) per model and distribution
    ml = syn["mean_loss"]
    models = ["pre"] + [f"ft{x}" for x in s["finetune"]["snapshots"]]
    label = {"pre": "pre-trained (D_mix)", **{f"ft{x}": f"fine-tuned on D_disc, {x} steps" for x in s["finetune"]["snapshots"]}}
    rows = [{"predictor": label[m], "D_cont": ml["cont"][m]["g1"], "D_disc": ml["disc"][m]["g1"], "D_cont rotated": ml["cont"][m]["rot"], "D_disc rotated": ml["disc"][m]["rot"]} for m in models]
    names = {"ridge": "ridge (Bayes for D_cont)", "discrete": "discrete regression (Bayes for D_disc)", "mixture": "posterior mixture (Bayes for D_mix)"}
    rows += [{"predictor": names[r], "D_cont": ml["cont"][r], "D_disc": ml["disc"][r], "D_cont rotated": None, "D_disc rotated": None} for r in names]
    tables["synthetic_loss"] = Table(
        pd.DataFrame(rows), floatfmt=".3f",
        title="conjugate_prompting: in-context regression loss (mean over k = 0..K-1, squared error / d)",
        note=f"Mean over {syn['runs']} independent training runs (seeds). d = {s['dim']}, N = {s['n_tasks']} discrete tasks, K = {s['prompt_len']}, the same {s['eval']['n_prompts']} evaluation prompts per distribution for every run; noise floor sigma^2/d = {syn['noise_floor']:.3f}. 'rotated': each prompt's inputs rotated by a random orthogonal matrix (task-inference diagnostic).",
    )
    # Table: conjugate prompting (label scaling by gamma) on D_cont and D_disc
    rows = []
    for g in s["eval"]["gammas"]:
        r = {"gamma": g}
        for m in models:
            r[f"{label[m]}: D_cont"] = ml["cont"][m][f"g{g:g}"]
        for m in models:
            r[f"{label[m]}: D_disc"] = ml["disc"][m][f"g{g:g}"]
        rows.append(r)
    tables["conjugate_gamma"] = Table(
        pd.DataFrame(rows), floatfmt=".3f",
        title="conjugate_prompting: label scaling (prompt labels x gamma, prediction / gamma), mean loss",
        note=f"Mean over {syn['runs']} independent training runs. gamma = 1 is the plain prompt. Ridge's prediction is exactly unchanged by the transform (it is linear in y); discrete regression's and the models' are not.",
    )
    # Table: LM probe, the paper's Table shape
    if lm is not None:
        rows = []
        for r in lm["table"]:
            rows.append({k: r[k] for k in ("icl_task", "if_task", "language", "n_prompts", "runs", "pretrained_acc", "finetuned_acc", "finetuned_sd", "drop", "pretrained_if", "finetuned_if")})
        tables["lm_probe"] = Table(
            pd.DataFrame(rows), floatfmt=".1f",
            title="conjugate_prompting: ICL vs instruction following (accuracy % of the in-context answer)",
            note=f"pre-trained: {lm['summary']['models']['pretrained']}; fine-tuned: {lm['summary']['models']['finetuned']}, {lm['summary']['runs']} independent fine-tunes (seeds): finetuned_acc is their mean, finetuned_sd their std. drop = pre-trained - fine-tuned (percentage points). *_if: % of outputs that start with the instruction-following answer (the sum) instead. Greedy decoding, prefix match.",
        )
    else:
        tables["lm_probe"] = Table(pd.DataFrame([{"note": "LM probe disabled at this scale (lm.enabled: false)"}]), title="conjugate_prompting: ICL vs instruction following")
    return Results(metrics, tables)
