"""prepacking's job inputs and cross-key config checks, as pure functions of the config (used by
the rule file and by the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError


def check(p: dict, where: str) -> None:
    """Cross-key checks the JSON schema cannot express (run when the config is loaded)."""
    b, d = p["benchmark"], p["distributions"]
    for name in b["distributions"]:
        if name not in d:
            raise PaperdagError(f"{where}: key benchmark.distributions names '{name}', which is not under distributions ({', '.join(d)})")
        if p["model"]["source"] == "random" and (d[name]["kind"] == "hf" or (d[name]["kind"] == "text" and d[name].get("unit", "tokens") == "tokens")):
            raise PaperdagError(f"{where}: key distributions.{name}: a random model (model.source: random) has no tokenizer; "
                                "give this `text` distribution `unit: words` or leave it out of benchmark.distributions")
    if b["claim_distribution"] not in b["distributions"]:
        raise PaperdagError(f"{where}: key benchmark.claim_distribution '{b['claim_distribution']}' is not in benchmark.distributions")
    c = p["correctness"]["distribution"]
    if c not in d or d[c]["kind"] not in ("lognormal", "constant"):
        raise PaperdagError(f"{where}: key correctness.distribution '{c}' must name a lognormal/constant entry of distributions")
    if len([x for x in b["batch_sizes"] if x >= 2]) < 2:
        raise PaperdagError(f"{where}: key benchmark.batch_sizes needs at least two batch sizes >= 2 (the growth of the speed-up with the batch size)")


def model_input(p: dict) -> dict:
    """The shared LM asset where this scale loads a local model (else nothing)."""
    if p["model"]["source"] == "local":
        return {"model": p["model"]["path"]}
    return {}


def bench_files(scale: str, p: dict) -> list[str]:
    """One benchmark job (and file) per benchmarked distribution."""
    return [f"results/{scale}/prepacking/bench/prefill-{d}.json" for d in p["benchmark"]["distributions"]]
