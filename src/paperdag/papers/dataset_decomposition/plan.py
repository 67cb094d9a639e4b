"""Which training runs a dataset_decomposition run has, as pure functions of the config (shared by
the rule file's inputs, report.py's metrics inputs and the train stage), and the config checks a
JSON schema cannot express.

The main comparison (the baseline `baseline`, concat-and-chunk with document masking
`dm_baseline`, and the paper's DD `main_dd`) runs `seeds` independent training runs per method:
run s initialises the model with `train.seed + s` and draws documents, sequences and the
curriculum with `train.data_seed + s`. The other methods of `run_methods` (the curriculum
ablation) run `ablation_seeds` runs (1 at default: their claims are shown inconclusive, n = 1)."""

from __future__ import annotations

import copy

from paperdag.core.errors import PaperdagError

BASE = "results/{scale}/dataset_decomposition"


def main_methods(p: dict) -> list[str]:
    return list(dict.fromkeys([p["baseline"], p["dm_baseline"], p["main_dd"]]))


def method_seeds(p: dict, method: str) -> list[int]:
    return list(range(p["seeds"] if method in main_methods(p) else p["ablation_seeds"]))


def runs(p: dict) -> list[tuple[str, int]]:
    """(method, seed) of every training job, in run_methods order."""
    return [(m, s) for m in p["run_methods"] for s in method_seeds(p, m)]


def seeded(p: dict, seed: int) -> dict:
    """The config of run `seed`: model init seed and data seed offset by it."""
    q = copy.deepcopy(p)
    q["train"]["seed"] = p["train"]["seed"] + seed
    q["train"]["data_seed"] = p["train"]["data_seed"] + seed
    return q


def run_files(scale: str, p: dict) -> list[str]:
    return [f"{BASE.format(scale=scale)}/runs/{m}/seed{s}.json" for m, s in runs(p)]


def timing_files(scale: str, p: dict) -> list[str]:
    return [f"{BASE.format(scale=scale)}/runs/{m}/seed{s}.timing.json" for m, s in runs(p)]


def check(p: dict, where: str) -> None:
    """The compared methods are defined and run, with the right kinds; the ablation's methods too."""
    methods, run = p["methods"], p["run_methods"]
    for key, kind in (("baseline", ("cc",)), ("dm_baseline", ("cc_dm",)), ("main_dd", ("dd",))):
        name = p[key]
        if name not in methods:
            raise PaperdagError(f"{where}: {key} = {name} is not a key of methods ({', '.join(methods)})")
        if name not in run:
            raise PaperdagError(f"{where}: {key} = {name} is not in run_methods {run}")
        if methods[name]["kind"] not in kind:
            raise PaperdagError(f"{where}: {key} = {name} has kind {methods[name]['kind']}, expected {' or '.join(kind)}")
    for m in run:
        if m not in methods:
            raise PaperdagError(f"{where}: run_methods lists {m}, which is not a key of methods ({', '.join(methods)})")
    for k, name in p["ablation"].items():
        if name not in methods:
            raise PaperdagError(f"{where}: ablation.{k} = {name} is not a key of methods ({', '.join(methods)})")
    if p["ablation_seeds"] > p["seeds"]:
        raise PaperdagError(f"{where}: ablation_seeds = {p['ablation_seeds']} exceeds seeds = {p['seeds']}")
