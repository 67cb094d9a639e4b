"""compoundpiece's job lists and cross-key config checks, as pure functions of the config (used by the
rule file, the stages and the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError

VARIANTS = ("stage1", "stage2", "stage12")
R = "results/{scale}/compoundpiece"


def run_seed(p: dict, run: int, variant: str = "stage1") -> int:
    """Run r of every variant trains from seed + 1 + r (stage2 and stage12 of one run then see the
    same batches: a paired comparison; different runs are independent)."""
    return p["seed"] + 1 + int(run)


def train_cfg(p: dict, variant: str) -> dict:
    """The training section of one variant: stage1, or stage2 (Stage 1 + 2's second phase), or
    stage2 with `only_steps` steps for the Stage-2-only control (from random init it needs longer
    than a Stage-1-initialised model; equal steps at least)."""
    if variant == "stage1":
        return dict(p["stage1"])
    t = {k: v for k, v in p["stage2"].items() if k != "only_steps"}
    if variant == "stage2":
        t["steps"] = p["stage2"].get("only_steps", p["stage2"]["steps"])
    return t


def max_len(p: dict) -> int:
    return p["data"]["max_bytes"] + 2


def train_init(scale: str, variant: str, run: str) -> list[str]:
    """Stage 1 + 2 starts from this run's Stage-1 model."""
    return [f"results/{scale}/compoundpiece/models/stage1-run{run}.safetensors"] if variant == "stage12" else []


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/compoundpiece/evals/{v}-run{r}.json" for v in VARIANTS for r in range(p["runs"])]


def tokenizer_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/compoundpiece/evals/tokenizers-run{r}.json" for r in range(p["runs"])]


def llm_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/compoundpiece/evals/llm.json"] if p["llm"]["enabled"] else []


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    d = p["data"]
    if d["min_part_len"] > d["max_part_len"]:
        raise PaperdagError(f"{where}: key data.min_part_len ({d['min_part_len']}) exceeds data.max_part_len "
                            f"({d['max_part_len']})")
    if 2 * d["min_part_len"] > d["max_bytes"]:
        raise PaperdagError(f"{where}: key data.max_bytes ({d['max_bytes']}) is shorter than two parts of "
                            f"data.min_part_len ({d['min_part_len']})")
    for key in ("charsplit_langs",):
        bad = [lg for lg in p["baselines"][key] if lg not in ("de", "nl")]
        if bad:
            raise PaperdagError(f"{where}: key baselines.{key} has {bad}: compound-split supports de and nl only")
    if p["llm"]["enabled"]:
        bad = [lg for lg in p["llm"]["langs"] if lg not in d["langs"]]
        if bad:
            raise PaperdagError(f"{where}: key llm.langs has {bad}, not in data.langs {d['langs']}")
        if p["llm"]["shots"] < 3:
            raise PaperdagError(f"{where}: key llm.shots ({p['llm']['shots']}) must be >= 3 (2 negatives + positives)")
    if "only_steps" in p["stage1"]:
        raise PaperdagError(f"{where}: key stage1.only_steps: only stage2 has a Stage-2-only step count")
    if p["stage2"].get("only_steps", p["stage2"]["steps"]) < p["stage2"]["steps"]:
        raise PaperdagError(f"{where}: key stage2.only_steps ({p['stage2']['only_steps']}) is below stage2.steps "
                            f"({p['stage2']['steps']}): the Stage-2-only control must train at least as long")
    m = p["model"]
    if m["source"] == "random" and m["heads"] * m["d_kv"] < 1:
        raise PaperdagError(f"{where}: key model.heads")
