"""linkorgs's job lists and cross-key config checks, as pure functions of the config (used by the
rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError


def run_seed(p: dict, run: int) -> int:
    """Run r regenerates the corpus and trains the model with seed + r (independent replicates)."""
    return p["seed"] + int(run)


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/linkorgs/evals/run{r}.json" for r in range(p["runs"])]


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    c, t = p["corpus"], p["tasks"]
    need = t["n_val"] + t["n_test"] + t["n_regression"]
    if need > c["n_directory"]:
        raise PaperdagError(f"{where}: keys tasks.n_val + tasks.n_test + tasks.n_regression ({need}) exceed corpus.n_directory ({c['n_directory']}): the lists are disjoint directory organisations")
    if t["n_temporal"] > c["n_new"]:
        raise PaperdagError(f"{where}: key tasks.n_temporal ({t['n_temporal']}) exceeds corpus.n_new ({c['n_new']})")
    if list(p["levels"]) != sorted(p["levels"]):
        raise PaperdagError(f"{where}: key levels must be increasing")
    if p["model"]["batch"] % 2:
        raise PaperdagError(f"{where}: key model.batch ({p['model']['batch']}) must be even (half positive, half negative pairs)")
