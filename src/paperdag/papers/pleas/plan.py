"""Which jobs a pleas run has, and the config checks a JSON schema cannot express, as pure
functions of the config (used by report.py's metrics inputs and by core.config at parse time)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError


def eval_files(scale: str, p: dict) -> list[str]:
    """One evaluation per setting and model pair."""
    return [f"results/{scale}/pleas/evals/{s}/seed{i}.json" for s in p["settings"] for i in range(p["seeds"])]


def check(p: dict, where: str) -> None:
    """Cross-key checks: the claims' matching is one that runs; budgets start at 1x (the premise
    compares PLeaS at 1x with weight averaging, also 1x); the claims' budget bands are budgets; a
    validation split exists (every selection is made on it)."""
    m = p["merge"]
    if p["claims_matching"] not in m["matchings"]:
        raise PaperdagError(f"{where}: claims_matching = {p['claims_matching']} is not in merge.matchings {m['matchings']}")
    budgets = sorted(float(b) for b in m["budgets"])
    if abs(budgets[0] - 1.0) > 1e-9:
        raise PaperdagError(f"{where}: merge.budgets must include 1.0 (the premise compares PLeaS at 1x with weight averaging); got {m['budgets']}")
    if [float(b) for b in m["budgets"]] != budgets:
        raise PaperdagError(f"{where}: merge.budgets must be increasing; got {m['budgets']}")
    below = [b for b in budgets if b < 2.0 - 1e-9]
    if not below:
        raise PaperdagError(f"{where}: merge.budgets needs at least one budget below 2.0")
    if not any(b <= p["claims_small_budget"] + 1e-9 for b in below):
        raise PaperdagError(f"{where}: claims_small_budget = {p['claims_small_budget']} is below every budget in merge.budgets")
    if not any(b >= p["claims_large_budget"] - 1e-9 for b in below):
        raise PaperdagError(f"{where}: claims_large_budget = {p['claims_large_budget']} is above every budget below 2.0 in merge.budgets")
    if not p["data"].get("val_frac"):
        raise PaperdagError(f"{where}: data.val_frac must be > 0: the ridge and the headline budget are chosen on validation data")
