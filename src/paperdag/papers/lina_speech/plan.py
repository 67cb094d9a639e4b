"""lina_speech's job lists and cross-key config checks, as pure functions of the config (used by the
rule file, the stages and the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError

SYSTEMS = ("none", "prompt", "ist", "finetune", "lora")


def run_seed(p: dict, run: int) -> int:
    """Seed of independent run `run` (its pre-training and its adaptation jobs)."""
    return p["seed"] + int(run)


def model_file(scale: str, run: int) -> str:
    return f"results/{scale}/lina_speech/models/run{run}.safetensors"


def adapt_files(scale: str, p: dict) -> list[str]:
    """One evaluation file per (run, held-out voice)."""
    return [f"results/{scale}/lina_speech/evals/run{r}-{v}.json" for r in range(p["runs"]) for v in p["data"]["heldout"]]


def voice_pattern(p: dict) -> str:
    return "|".join(v["name"] for v in p["data"]["voices"])


def check_source(p: dict, where: str) -> None:
    if p["data"]["source"] != "espeak":
        raise PaperdagError(
            f"{where}: key data.source is '{p['data']['source']}': only the offline espeak-ng corpus is implemented; "
            "the paper's corpora and WavTokenizer codec are not installable offline (see the README paragraph)"
        )


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    d, m, a = p["data"], p["model"], p["adapt"]
    names = [v["name"] for v in d["voices"]]
    if len(set(names)) != len(names):
        raise PaperdagError(f"{where}: key data.voices: voice names must be distinct")
    for h in d["heldout"]:
        if h not in names:
            raise PaperdagError(f"{where}: key data.heldout: '{h}' is not a name in data.voices")
    if len(set(d["heldout"])) >= len(names):
        raise PaperdagError(f"{where}: key data.heldout leaves no voice for pre-training")
    if d["per_voice"] > d["n_pool"]:
        raise PaperdagError(f"{where}: key data.per_voice ({d['per_voice']}) exceeds data.n_pool ({d['n_pool']})")
    if d["min_words"] > d["max_words"]:
        raise PaperdagError(f"{where}: key data.min_words exceeds data.max_words")
    if max(a["sizes"]) > d["n_adapt"]:
        raise PaperdagError(f"{where}: key adapt.sizes: the largest size ({max(a['sizes'])}) exceeds data.n_adapt ({d['n_adapt']})")
    if sorted(a["sizes"]) != list(a["sizes"]) or len(set(a["sizes"])) != len(a["sizes"]):
        raise PaperdagError(f"{where}: key adapt.sizes must be strictly increasing")
    for s in a["systems"]:
        if s not in SYSTEMS:
            raise PaperdagError(f"{where}: key adapt.systems: unknown system '{s}' (one of {', '.join(SYSTEMS)})")
    for s in ("none", "ist"):
        if s not in a["systems"]:
            raise PaperdagError(f"{where}: key adapt.systems must include '{s}' (every claim compares with it)")
    if (m["d_model"] * m["expand_k"]) % m["heads"] or (m["d_model"] * m["expand_v"]) % m["heads"]:
        raise PaperdagError(f"{where}: key model.heads ({m['heads']}) must divide d_model x expand_k and d_model x expand_v")
    if m["d_model"] % m["text_heads"]:
        raise PaperdagError(f"{where}: key model.text_heads ({m['text_heads']}) must divide model.d_model")
    if p["train"]["warmup"] > p["train"]["steps"]:
        raise PaperdagError(f"{where}: key train.warmup exceeds train.steps")
    if p["bench"]["d_model"] % p["bench"]["heads"]:
        raise PaperdagError(f"{where}: key bench.heads must divide bench.d_model")
    if p["eval"]["top_k"] > p["codec"]["n_codes"]:
        raise PaperdagError(f"{where}: key eval.top_k ({p['eval']['top_k']}) exceeds codec.n_codes ({p['codec']['n_codes']})")
