"""Merging two experts fine-tuned from the same base, as pure functions on state dicts
({name: tensor}, Hugging Face Llama naming `model.layers.{i}.<...>`).

- `layer_swap` (Algorithm 1 of the paper): start from the math expert; the bottom `b` and top `u`
  transformer layers come from the language expert (every tensor of the block); optional transition
  zones of `t_b` layers above the bottom block and `t_u` layers below the top block are the average
  alpha * language + (1 - alpha) * math; the middle stays the math expert's. Parameters outside the
  transformer layers (token embedding, final norm, LM head; tied in SmolLM2) come from
  `non_layer` in {math, language, average}. Returns the merged state dict and each tensor's
  provenance ("math", "language" or "average").
- `soup`: the uniform (weighted) average of the experts.
- `ties`: TIES-merging of the task vectors (expert - base) with peft's maintained implementation
  (`peft.utils.merge_utils.ties`: per-tensor magnitude trim to `density`, sign election by total
  mass, disjoint mean), scaled by `lam` and added to the base.
- `change_profile`: per layer and parameter type, the relative change ||expert - base|| / ||base||
  (the paper's Figure 5 quantity), and each layer's share of the update mass.
"""

from __future__ import annotations

import re

import torch

from paperdag.core.errors import PaperdagError

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+)\.")
PARAM_TYPES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "input_layernorm", "post_attention_layernorm")
SOURCES = ("math", "language", "average")


def layer_of(key: str) -> int | None:
    """The transformer layer index of a parameter name, or None outside the layers."""
    m = _LAYER.search(key)
    return int(m.group(1)) if m else None


def param_type(key: str) -> str | None:
    for t in PARAM_TYPES:
        if f".{t}." in key:
            return t
    return None


def n_layers_of(sd: dict) -> int:
    idx = [layer_of(k) for k in sd]
    idx = [i for i in idx if i is not None]
    if not idx:
        raise PaperdagError("state dict has no transformer layers (expected keys like model.layers.0.*)")
    return max(idx) + 1


def swap_plan(n_layers: int, b: int, u: int, t_b: int = 0, t_u: int = 0) -> list[str]:
    """Source of each transformer layer: language (bottom b, top u), average (transition zones),
    math (the middle)."""
    for name, v in (("b", b), ("u", u), ("t_b", t_b), ("t_u", t_u)):
        if int(v) < 0:
            raise PaperdagError(f"layer swap: {name} = {v} must be >= 0")
    if b + t_b + t_u + u > n_layers:
        raise PaperdagError(f"layer swap: b + t_b + t_u + u = {b + t_b + t_u + u} exceeds the {n_layers} layers")
    plan = ["math"] * n_layers
    for i in range(b):
        plan[i] = "language"
    for i in range(n_layers - u, n_layers):
        plan[i] = "language"
    for i in range(b, b + t_b):
        plan[i] = "average"
    for i in range(n_layers - u - t_u, n_layers - u):
        plan[i] = "average"
    return plan


def _check_same(a: dict, b: dict, what: str) -> None:
    if set(a) != set(b):
        diff = sorted(set(a) ^ set(b))[:5]
        raise PaperdagError(f"{what}: the two state dicts have different parameters (e.g. {diff}); experts must share one architecture")
    for k in a:
        if a[k].shape != b[k].shape:
            raise PaperdagError(f"{what}: parameter {k} has shapes {tuple(a[k].shape)} and {tuple(b[k].shape)}")


def layer_swap(math_sd: dict, lang_sd: dict, b: int, u: int, t_b: int = 0, t_u: int = 0,
               non_layer: str = "math", alpha: float = 0.5) -> tuple[dict, dict]:
    """Algorithm 1: the merged state dict and {key: provenance}."""
    _check_same(math_sd, lang_sd, "layer swap")
    if non_layer not in SOURCES:
        raise PaperdagError(f"layer swap: non_layer must be one of {SOURCES}, not {non_layer!r}")
    plan = swap_plan(n_layers_of(math_sd), b, u, t_b, t_u)
    out, prov = {}, {}
    for k, wm in math_sd.items():
        i = layer_of(k)
        src = plan[i] if i is not None else non_layer
        wl = lang_sd[k]
        if src == "math":
            out[k] = wm.clone()
        elif src == "language":
            out[k] = wl.clone()
        else:
            out[k] = (alpha * wl.float() + (1 - alpha) * wm.float()).to(wm.dtype)
        prov[k] = src
    return out, prov


def verify_provenance(merged: dict, math_sd: dict, lang_sd: dict, b: int, u: int, t_b: int, t_u: int,
                      non_layer: str = "math", alpha: float = 0.5) -> bool:
    """Independently of `layer_swap`'s bookkeeping: every merged tensor equals the tensor its layer
    should come from (bottom b / top u: language; transition zones: the alpha average; else math;
    non-layer parameters: `non_layer`), and the two experts differ where they are compared."""
    n = n_layers_of(math_sd)
    for k, w in merged.items():
        i = layer_of(k)
        if i is None:
            want = non_layer
        elif i < b or i >= n - u:
            want = "language"
        elif i < b + t_b or i >= n - u - t_u:
            want = "average"
        else:
            want = "math"
        ref = {"math": math_sd[k], "language": lang_sd[k]}.get(want)
        if ref is None:
            ref = (alpha * lang_sd[k].float() + (1 - alpha) * math_sd[k].float()).to(w.dtype)
        if not torch.equal(w, ref):
            return False
    return True


def soup(sds: list[dict], weights: list[float] | None = None) -> dict:
    """Weighted average of state dicts (uniform by default)."""
    if not sds:
        raise PaperdagError("soup: no state dicts")
    for s in sds[1:]:
        _check_same(sds[0], s, "soup")
    w = [1.0 / len(sds)] * len(sds) if weights is None else [float(x) for x in weights]
    return {k: sum(wi * s[k].float() for wi, s in zip(w, sds)).to(sds[0][k].dtype) for k in sds[0]}


def ties(base_sd: dict, sds: list[dict], density: float = 0.2, lam: float = 1.0, weights: list[float] | None = None) -> dict:
    """TIES-merging (Yadav et al. 2023) through peft.utils.merge_utils.ties, per tensor:
    base + lam * ties([expert - base, ...], weights, density)."""
    from peft.utils.merge_utils import ties as peft_ties

    if not 0 < density <= 1:
        raise PaperdagError(f"ties: density must be in (0, 1], not {density}")
    for s in sds:
        _check_same(base_sd, s, "ties")
    w = torch.tensor([1.0] * len(sds) if weights is None else [float(x) for x in weights])
    out = {}
    for k, base in base_sd.items():
        taus = [s[k].float() - base.float() for s in sds]
        if all(not torch.any(t) for t in taus):
            out[k] = base.clone()
            continue
        merged = peft_ties(taus, w, density, majority_sign_method="total")
        out[k] = (base.float() + lam * merged).to(base.dtype)
    return out


def change_profile(base_sd: dict, sd: dict) -> dict:
    """Per layer x parameter type: ||sd - base|| / ||base|| (Frobenius); per layer: the relative
    change of the whole block and its share of the sum over layers; outside the layers: per key."""
    n = n_layers_of(base_sd)
    rel = [[0.0] * len(PARAM_TYPES) for _ in range(n)]
    num = [0.0] * n
    den = [0.0] * n
    other = {}
    for k, base in base_sd.items():
        d2 = float(((sd[k].double() - base.double()) ** 2).sum())
        b2 = float((base.double() ** 2).sum())
        i, t = layer_of(k), param_type(k)
        if i is None:
            other[k] = (d2 ** 0.5) / max(b2 ** 0.5, 1e-30)
            continue
        if t is not None:
            rel[i][PARAM_TYPES.index(t)] = (d2 ** 0.5) / max(b2 ** 0.5, 1e-30)
        num[i] += d2
        den[i] += b2
    layer = [(a ** 0.5) / max(b ** 0.5, 1e-30) for a, b in zip(num, den)]
    tot = sum(layer)
    share = [x / tot if tot > 0 else 0.0 for x in layer]
    return {"types": list(PARAM_TYPES), "rel": rel, "layer_rel": layer, "layer_share": share, "other": other}


def outer_share(share: list[float], bottom: int, top: int) -> float:
    """The share of the update mass in the bottom `bottom` and top `top` layers."""
    n = len(share)
    return float(sum(share[:bottom]) + (sum(share[n - top:]) if top else 0.0))
