"""cogex's job lists and cross-key config checks, as pure functions of the config (used by the
rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError

FORMATS = ("code", "plan", "nl")


def run_seed(p: dict, run: int) -> int:
    return p["seed"] + int(run)


def model_file(scale: str, fmt: str, run) -> str:
    return f"results/{scale}/cogex/models/{fmt}-run{run}.safetensors"


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/cogex/evals/{fmt}-run{r}.json" for fmt in FORMATS for r in range(p["runs"])]


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    d, s = p["data"], p["search"]
    if d["n_cotacs_train"] >= d["n_pool"]:
        raise PaperdagError(f"{where}: key data.n_cotacs_train ({d['n_cotacs_train']}) must be below data.n_pool "
                            f"({d['n_pool']}): the rest of the pool is the dev set that ranks the programs")
    if s["n_candidates"] > d["n_cotacs_train"]:
        raise PaperdagError(f"{where}: key search.n_candidates ({s['n_candidates']}) exceeds data.n_cotacs_train "
                            f"({d['n_cotacs_train']}): each candidate is sampled on its own training item")
    if d["n_small"] > d["n_pool"]:
        raise PaperdagError(f"{where}: key data.n_small ({d['n_small']}) exceeds data.n_pool ({d['n_pool']})")
    if max(s["ks"]) > s["n_candidates"]:
        raise PaperdagError(f"{where}: key search.ks ({s['ks']}) asks for more programs than search.n_candidates")
    if max(p["fig2"]["n_cands"]) > s["n_candidates"]:
        raise PaperdagError(f"{where}: key fig2.n_cands ({p['fig2']['n_cands']}) exceeds search.n_candidates ({s['n_candidates']})")
    if s["bm25_shots"] > d["n_pool"]:
        raise PaperdagError(f"{where}: key search.bm25_shots exceeds data.n_pool")
    if abs(sum(d["style_mix"].values()) - 1.0) > 1e-6:
        raise PaperdagError(f"{where}: key data.style_mix must sum to 1 (got {sum(d['style_mix'].values())})")
    if p["model"]["kind"] == "hub" and not p["model"].get("hub_id"):
        raise PaperdagError(f"{where}: key model.hub_id is required when model.kind is 'hub'")
    if "sum" in d["tasks"] and d["pool_digits"] == d["test_digits"]:
        pass  # allowed (no length shift), the paper's setting is 5 -> 6
    for fmt in FORMATS:
        if fmt not in p["train"]["steps"]:
            raise PaperdagError(f"{where}: key train.steps.{fmt} is missing")
