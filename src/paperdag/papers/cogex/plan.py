"""cogex's job lists and cross-key config checks, as pure functions of the config (used by the
rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError


def run_seed(p: dict, run: int) -> int:
    return p["seed"] + int(run)


def model_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/cogex/models/run{r}.safetensors" for r in range(p["runs"])]


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    if p["data"]["n_train"] <= p["data"]["dim"]:
        raise PaperdagError(f"{where}: key data.n_train ({p['data']['n_train']}) must exceed data.dim ({p['data']['dim']})")
