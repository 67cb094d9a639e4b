"""Which networks a catn run trains, as a pure function of the config: shared by the rule file
(job list) and the stages (which checkpoint is which)."""

from __future__ import annotations

import re

from paperdag.core.errors import PaperdagError

SPEC = re.compile(r"^(member|wide(\d+)|joint(\d+))-wd([0-9.e-]+)-s(\d+)$")


def parse_spec(spec: str) -> dict:
    m = SPEC.match(spec)
    if not m:
        raise PaperdagError(f"catn: bad model spec '{spec}' (expected member|wide<n>|joint<n>-wd<value>-s<seed>)")
    kind = "member" if m.group(1) == "member" else ("wide" if m.group(2) else "joint")
    n = 1 if kind == "member" else int(m.group(2) or m.group(3))
    return {"kind": kind, "n": n, "wd": float(m.group(4)), "seed": int(m.group(5))}


def spec_name(kind: str, n: int, wd: float, seed: int) -> str:
    base = "member" if kind == "member" else f"{kind}{n}"
    return f"{base}-wd{wd:g}-s{seed}"


def member_seed(p: dict, s: int, i: int) -> int:
    return p["seed"] + 1000 * s + i


GROUPS = ("members", "wide", "joint", "wd")


def set_models(p: dict, s: int) -> dict[str, list[str]]:
    """Model specs of seed-set `s`, by training group: CAT members, wide and joint baselines,
    and the extra weight-decay (Table 1) networks. Table 1's network at the base weight decay
    is member 0 (same seed, same recipe), so it is not trained twice."""
    wd = p["train"]["weight_decay"]
    n_max = max(p["cat_ns"])
    return {
        "members": [spec_name("member", 1, wd, member_seed(p, s, i)) for i in range(n_max)],
        "wide": [spec_name("wide", n, wd, member_seed(p, s, 900 + n)) for n in p["wide_ns"]],
        "joint": [spec_name("joint", n, wd, member_seed(p, s, 950 + n)) for n in p["joint_ns"]],
        "wd": [spec_name("member", 1, w, member_seed(p, s, 0)) for w in p["weight_decays"] if w != wd],
    }


def table1_models(p: dict, s: int) -> list[str]:
    return [spec_name("member", 1, w, member_seed(p, s, 0)) for w in p["weight_decays"]]


def all_models(p: dict) -> list[str]:
    seen = []
    for s in range(p["seed_sets"]):
        for group in set_models(p, s).values():
            for m in group:
                if m not in seen:
                    seen.append(m)
    return seen


# -- the rule file's input lists (paths as functions of the scale and the config) -------------------
def set_model_dirs(scale: str, p: dict, s: int) -> list[str]:
    """The training groups of seed-set `s` that have at least one network."""
    return [f"results/{scale}/catn/models/set{s}/{g}" for g, names in set_models(p, s).items() if names]


def eval_files(scale: str, p: dict) -> list[str]:
    return [f"results/{scale}/catn/evals/set{s}.json" for s in range(p["seed_sets"])]
