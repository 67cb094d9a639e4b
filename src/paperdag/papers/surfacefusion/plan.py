"""surfacefusion's job lists and cross-key config checks, as pure functions of the config (used by the
rule file, the stages and the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError

VARIANTS = ("vanilla", "ef", "fg", "sf_hard", "sf_soft")


def run_seed(p: dict, run: int) -> int:
    """Seed of independent run `run`: the same for every variant (runs are paired by seed)."""
    return p["seed"] + int(run)


def model_file(scale: str, variant: str, run: int) -> str:
    return f"results/{scale}/surfacefusion/models/{variant}-run{run}.safetensors"


def run_models(scale: str, p: dict, run: int) -> list[str]:
    """The checkpoints one evaluation job (run `run`) reads: one per variant."""
    return [model_file(scale, v, run) for v in p["variants"]]


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/surfacefusion/evals/run{r}.json" for r in range(p["runs"])]


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    m = p["model"]
    if m["d_model"] % m["heads"]:
        raise PaperdagError(f"{where}: key model.d_model ({m['d_model']}) must be a multiple of model.heads ({m['heads']})")
    for v in p["variants"]:
        if v not in VARIANTS:
            raise PaperdagError(f"{where}: key variants: unknown variant '{v}' (one of {', '.join(VARIANTS)})")
    for v in ("vanilla",):
        if v not in p["variants"]:
            raise PaperdagError(f"{where}: key variants must include '{v}' (every comparison is against it)")
    if len(set(p["variants"])) != len(p["variants"]):
        raise PaperdagError(f"{where}: key variants lists a variant twice")
    if p["train"]["warmup"] > p["train"]["steps"]:
        raise PaperdagError(f"{where}: key train.warmup ({p['train']['warmup']}) exceeds train.steps ({p['train']['steps']})")
    d = p["data"]
    if d["source"] == "g2p" and d["n_train"] + d["n_val"] + d["n_test"] > d["top_n"]:
        raise PaperdagError(f"{where}: key data.top_n ({d['top_n']}) is smaller than data.n_train + n_val + n_test")


FUSION_KEYS = {"vanilla": (), "ef": ("ta_embnorm",), "fg": ("ta_embnorm",), "sf_hard": ("sf_gate", "sf_posemb"), "sf_soft": ("sf_tau", "sf_posemb")}


def train_cfg(p: dict, variant: str) -> dict:
    """The config one training job reads: seed, data, model and train sections, and only the fusion
    keys its variant uses (so changing the hard-fusion gate retrains the hard-fusion runs only)."""
    return {"seed": p["seed"], "data": p["data"], "model": p["model"], "train": p["train"], "fusion": {k: p["fusion"][k] for k in FUSION_KEYS[variant]}}
