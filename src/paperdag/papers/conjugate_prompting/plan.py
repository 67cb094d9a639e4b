"""conjugate_prompting's job lists, inputs and params, as pure functions of the config (used by the
rule file and the results declaration): the independent training runs of both parts, which LM the
probe loads, and the config slice each stage reads (so that an edit reruns only the jobs it
affects: adding a run or changing the evaluation never retrains the existing runs)."""

from __future__ import annotations

import json

from paperdag.core.errors import PaperdagError

CP = "conjugate_prompting"
CONFIG = "config/papers/conjugate_prompting.yaml"


# ------------------------------------------------------------------ Part 1: synthetic regression
def syn_runs(p: dict) -> list[int]:
    """The independent training runs of Part 1 (each: its own pre-training and fine-tuning seeds)."""
    return list(range(p["synthetic"]["runs"]))


def syn_seeds(p: dict, run: int) -> tuple[int, int]:
    """(pre-training seed, fine-tuning seed) of run `run`: seed + 100 run, and + 1."""
    s = p["synthetic"]["seed"] + 100 * int(run)
    return s, s + 1


def _syn_slice(p: dict, drop: tuple[str, ...]) -> str:
    s = p["synthetic"]
    return json.dumps({"synthetic": {k: v for k, v in s.items() if k not in drop}}, sort_keys=True)


def pretrain_params(p: dict) -> str:
    return _syn_slice(p, ("runs", "finetune", "eval", "claims"))


def finetune_params(p: dict) -> str:
    return _syn_slice(p, ("runs", "eval", "claims"))


def evaluate_params(p: dict) -> str:
    return _syn_slice(p, ("runs", "claims"))


def syn_eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/{CP}/evals/synthetic-run{r}.npz" for r in syn_runs(p)]


# ------------------------------------------------------------------ Part 2: the LM probe
def lm_runs(p: dict) -> list[int]:
    """The independent English instruction fine-tunes of the LM (hub pairs: the one published
    fine-tuned checkpoint)."""
    return list(range(p["lm"]["runs"]))


def lm_ft_seed(p: dict, run: int) -> int:
    return p["lm"]["finetune"]["seed"] + int(run)


def lm_train_params(p: dict) -> str:
    """Only the LM keys that building / fine-tuning read, so probe-only edits do not retrain."""
    lm = p["lm"]
    return json.dumps({"lm": {k: lm[k] for k in ("source", "asset", "seed", "tiny", "finetune")}}, sort_keys=True)


def probe_params(p: dict) -> str:
    """The LM section without `runs` (adding a fine-tune does not re-probe the others)."""
    return json.dumps({"lm": {k: v for k, v in p["lm"].items() if k != "runs"}}, sort_keys=True)


def lm_base(scale: str, p: dict):
    lm = p["lm"]
    if lm["source"] == "tiny":
        return f"results/{scale}/{CP}/lm/tiny_base"
    if lm["source"] == "asset":
        return lm["asset"]
    return []


def adapter_path(scale: str, run) -> str:
    return f"results/{scale}/{CP}/lm/adapter-run{run}.safetensors"


def probe_inputs(scale: str, p: dict, which: str) -> dict:
    """`which`: 'pre' (the pre-trained LM) or 'run<r>' (fine-tune r)."""
    if p["lm"]["source"] == "hub":
        return {}
    d = {"base": lm_base(scale, p)}
    if which != "pre":
        d["adapter"] = adapter_path(scale, which[3:])
    return d


def lm_probe_files(scale: str, p: dict) -> dict:
    return {
        "lm_pre": f"results/{scale}/{CP}/evals/lm_probe-pre.json",
        "lm_ft": [f"results/{scale}/{CP}/evals/lm_probe-run{r}.json" for r in lm_runs(p)],
    }


def check(p: dict, where: str) -> None:
    """Cross-key checks of one scale's merged params (raise naming the file and key)."""
    s = p["synthetic"]
    snaps = s["finetune"]["snapshots"]
    if s["claims"]["finetune_step"] not in snaps:
        raise PaperdagError(f"{CONFIG}: {where}.synthetic.claims.finetune_step = {s['claims']['finetune_step']} is not one of synthetic.finetune.snapshots {snaps}")
    if s["claims"]["gamma"] not in s["eval"]["gammas"]:
        raise PaperdagError(f"{CONFIG}: {where}.synthetic.claims.gamma = {s['claims']['gamma']} is not one of synthetic.eval.gammas {s['eval']['gammas']}")
    if 1.0 not in s["eval"]["gammas"]:
        raise PaperdagError(f"{CONFIG}: {where}.synthetic.eval.gammas must contain 1.0 (the plain prompt)")
    lm = p["lm"]
    if lm["enabled"] and lm["source"] == "hub" and lm["runs"] != 1:
        raise PaperdagError(f"{CONFIG}: {where}.lm.runs = {lm['runs']}, but lm.source = hub probes one published fine-tuned checkpoint: set lm.runs: 1")
