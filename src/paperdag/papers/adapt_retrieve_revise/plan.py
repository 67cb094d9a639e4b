"""adapt_retrieve_revise's job lists and cross-key config checks, as pure functions of the config
(used by the rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError
from paperdag.core.lm import SMOLLM2_ASSET

SLUG = "adapt_retrieve_revise"


def run_seed(p: dict, run) -> int:
    """Run r draws its own statute book and trains its own drafter with seed + r."""
    return p["seed"] + int(run)


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/{SLUG}/evals/run{r}.json" for r in range(p["runs"])]


def lm_input(p: dict) -> dict:
    """The shared SmolLM2 asset as an input where the reviser is the local asset (default scale);
    nothing for the random stand-in (smoke) or a hub id (paper)."""
    rv = p["reviser"]
    if rv["source"] == "local":
        return {"lm": rv.get("path", SMOLLM2_ASSET)}
    return {}


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    rv, d, rt = p["revise"], p["data"], p["retrieval"]
    if rv["n_revise"] > d["n_test"]:
        raise PaperdagError(f"{where}: key revise.n_revise ({rv['n_revise']}) must not exceed data.n_test ({d['n_test']})")
    if rv["n_gen"] > rv["n_revise"]:
        raise PaperdagError(f"{where}: key revise.n_gen ({rv['n_gen']}) must not exceed revise.n_revise ({rv['n_revise']})")
    n_articles = d["n_statutes"] * d["bases_per_statute"] * d["variants_per_base"]
    if max(rt["ks"] + [rt["k"]]) > n_articles:
        raise PaperdagError(f"{where}: key retrieval.ks / retrieval.k exceed the number of articles ({n_articles})")
    spec, need = p["reviser"], {"local": "path", "hub": "id", "random": "config"}
    if need[spec["source"]] not in spec:
        raise PaperdagError(f"{where}: key reviser.{need[spec['source']]} is required when reviser.source is {spec['source']}")
    enc = rt["encoder"]
    need_e = {"hub": "id", "random": "config"}
    if enc["source"] in need_e and need_e[enc["source"]] not in enc:
        raise PaperdagError(f"{where}: key retrieval.encoder.{need_e[enc['source']]} is required when retrieval.encoder.source is {enc['source']}")
    if p["drafter"]["model"]["width"] % p["drafter"]["model"]["heads"]:
        raise PaperdagError(f"{where}: key drafter.model.width must be a multiple of drafter.model.heads")
