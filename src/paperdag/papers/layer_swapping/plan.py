"""layer_swapping's job lists and cross-key config checks, as pure functions of the config (used by the
rule file, the stages and the config loader)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError
from paperdag.core.lm import SMOLLM2_ASSET

SLUG = "layer_swapping"
EXPERTS = ("math", "lang", "joint")


def expert_seed(p: dict, expert: str, run) -> int:
    """Run r's experts draw their SFT batches with their own seeds (all start from the same base)."""
    return p["seed"] + 1000 * int(run) + EXPERTS.index(expert)


def model_file(scale: str, expert: str, run) -> str:
    return f"results/{scale}/{SLUG}/models/{expert}/run{run}.safetensors"


def eval_inputs(scale: str, p: dict, run) -> dict:
    """The experts a run's evaluation merges (joint SFT only for the first `joint_runs` runs)."""
    out = {"math": model_file(scale, "math", run), "lang": model_file(scale, "lang", run)}
    if int(run) < p["joint_runs"]:
        out["joint"] = model_file(scale, "joint", run)
    return out


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/{SLUG}/evals/run{r}.json" for r in range(p["runs"])]


def lm_input(p: dict) -> dict:
    """The shared SmolLM2 asset: the model (local) or, for the random smoke model, its tokenizer."""
    spec = p["model"]
    if spec["source"] == "local":
        return {"lm": spec["path"]}
    if spec["source"] == "random":
        return {"lm": SMOLLM2_ASSET}
    return {}


def config_name(b: int, u: int, t: int) -> str:
    return f"swap_b{b}_u{u}_t{t}"


def swap_variants(p: dict) -> dict:
    """Every layer-swap model of a run: {name: (b, u, t, non_layer)}. The configurations (the grid
    whose best is chosen on validation and whose mean is reported), then the ablations: the default
    configuration without transition zones, only the bottom / only the top block, and the default
    configuration with the non-layer parameters from the other expert."""
    m = p["merge"]
    nl = m["non_layer"]
    out = {config_name(*c): (c[0], c[1], c[2], nl) for c in m["configs"]}
    b, u, t = m["default"]
    out[config_name(b, u, 0)] = (b, u, 0, nl)
    out[f"swap_only_bottom_b{m['only_bottom']}"] = (m["only_bottom"], 0, 0, nl)
    out[f"swap_only_top_u{m['only_top']}"] = (0, m["only_top"], 0, nl)
    other = "language" if nl == "math" else "math"
    out[f"{config_name(b, u, t)}_nonlayer_{other}"] = (b, u, t, other)
    return out


def n_layers(p: dict) -> int | None:
    """The number of transformer layers where the config states it (random model), the SmolLM2
    asset's 30, or None (hub model: checked when the state dict is merged)."""
    spec = p["model"]
    if spec["source"] == "random":
        return spec["config"].get("num_hidden_layers")
    if spec["source"] == "local":
        return 30
    return None


def check(p: dict, where: str) -> None:
    """Checks across keys that the schema cannot express; raise naming the file and the key."""
    if p["joint_runs"] > p["runs"]:
        raise PaperdagError(f"{where}: key joint_runs ({p['joint_runs']}) must not exceed runs ({p['runs']})")
    spec, need = p["model"], {"local": "path", "hub": "id", "random": "config"}
    if need[spec["source"]] not in spec:
        raise PaperdagError(f"{where}: key model.{need[spec['source']]} is required when model.source is {spec['source']}")
    m = p["merge"]
    if list(m["default"]) not in [list(c) for c in m["configs"]]:
        raise PaperdagError(f"{where}: key merge.default {m['default']} must be one of merge.configs")
    n = n_layers(p)
    if n is not None:
        for c in m["configs"]:
            b, u, t = c
            if b + u + 2 * t > n:
                raise PaperdagError(f"{where}: key merge.configs entry {c}: b + u + 2t = {b + u + 2 * t} exceeds the model's {n} layers")
        for key in ("only_bottom", "only_top"):
            if m[key] > n:
                raise PaperdagError(f"{where}: key merge.{key} ({m[key]}) exceeds the model's {n} layers")
        a = p["analysis"]
        if a["outer_bottom"] + a["outer_top"] >= n:
            raise PaperdagError(f"{where}: key analysis.outer_bottom + analysis.outer_top must leave middle layers (model has {n})")
    d, e = p["data"], p.get("eval")
    if e and d["source"] == "generated":
        for k in ("n_test", "n_val"):
            if e[k] > d[k]:
                raise PaperdagError(f"{where}: key eval.{k} ({e[k]}) must not exceed data.{k} ({d[k]})")
    if p["data"]["source"] == "hub":
        for k in ("math", "lang", "eval", "val", "nll"):
            if k not in p["data"]:
                raise PaperdagError(f"{where}: key data.{k} is required when data.source is hub")
