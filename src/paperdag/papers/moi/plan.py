"""moi's job lists and cross-key config checks, as pure functions of the config (used by the
rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError
from paperdag.core.lm import SMOLLM2_ASSET

SLUG = "moi"
DOMAINS = ("math", "code", "tool", "dialogue")
SENS_DOMAINS = ("math", "code", "tool")


def run_seed(p: dict, run) -> int:
    """Run r of every strategy uses seed + r (model init and data order): strategies are paired by seed."""
    return p["seed"] + int(run)


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/{SLUG}/runs/{s}-run{r}.json" for s in p["strategies"] for r in range(p["runs"])]


def sensitivity_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/{SLUG}/sensitivity/{d}.json" for d in SENS_DOMAINS]


def lm_input(p: dict) -> dict:
    """The shared SmolLM2 asset where a job reads it (its tokenizer at smoke, the model at default)."""
    lm = p["sensitivity"]["lm"]
    return {"lm": lm.get("path", SMOLLM2_ASSET)} if lm["source"] in ("local", "random") else {}


def train_lm_input(p: dict) -> dict:
    m = p["model"]
    return {"lm": m["path"]} if m["source"] == "local" else {}


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    tr, m = p["train"], p["model"]
    if tr["n_mix"] != len(DOMAINS):
        raise PaperdagError(f"{where}: key train.n_mix ({tr['n_mix']}) must equal the number of domains ({len(DOMAINS)}): a chunk holds one instruction per domain")
    if tr["per_step"] % (tr["n_mix"] * tr["chunks_per_row"]):
        raise PaperdagError(f"{where}: key train.per_step ({tr['per_step']}) must be a multiple of train.n_mix x train.chunks_per_row")
    if tr["eval_every"] > tr["steps"]:
        raise PaperdagError(f"{where}: key train.eval_every ({tr['eval_every']}) must not exceed train.steps ({tr['steps']})")
    need = {"scratch": "config", "local": "path", "hub": "id"}[m["source"]]
    if need not in m:
        raise PaperdagError(f"{where}: key model.{need} is required when model.source is {m['source']}")
    if m["source"] == "scratch" and m["config"]["hidden_size"] % m["config"]["num_attention_heads"]:
        raise PaperdagError(f"{where}: key model.config.hidden_size must be a multiple of model.config.num_attention_heads")
    d = p["data"]
    if d["source"] == "generated":
        if set(d.get("sizes", {})) != set(DOMAINS):
            raise PaperdagError(f"{where}: key data.sizes must give a size for each of {', '.join(DOMAINS)}")
        if d["n_test"] > 1000 - 100:
            raise PaperdagError(f"{where}: key data.n_test ({d['n_test']}) leaves too few digit triples for training (at most 900)")
    elif set(d.get("domains", {})) != set(DOMAINS):
        raise PaperdagError(f"{where}: key data.domains must name a data set for each of {', '.join(DOMAINS)}")
    if d["source"] == "generated" and m["source"] != "scratch":
        raise PaperdagError(f"{where}: key model.source '{m['source']}' needs chat-format data (data.source hub or disk); the generated word data needs model.source scratch")
    unknown = [s for s in p["strategies"] if s not in STRATEGY_NAMES]
    if unknown:
        raise PaperdagError(f"{where}: key strategies: unknown {unknown} (known: {', '.join(STRATEGY_NAMES)})")
    lm = p["sensitivity"]["lm"]
    need = {"local": "path", "hub": "id", "random": "config"}[lm["source"]]
    if need not in lm:
        raise PaperdagError(f"{where}: key sensitivity.lm.{need} is required when sensitivity.lm.source is {lm['source']}")


STRATEGY_NAMES = ("sequence", "packing", "balanced", "balanced_domain", "moi_nomask", "moi_isolated", "moi", "moi_v1")
