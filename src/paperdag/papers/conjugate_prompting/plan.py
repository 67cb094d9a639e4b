"""conjugate_prompting's job inputs and params, as pure functions of the config (used by the rule
file): which LM the probe loads, and the LM keys that building / fine-tuning read."""

from __future__ import annotations

import json

CP = "conjugate_prompting"


def lm_train_params(p: dict) -> str:
    """Only the LM keys that building / fine-tuning read, so probe-only edits do not retrain."""
    lm = p["lm"]
    return json.dumps({"lm": {k: lm[k] for k in ("source", "seed", "tiny", "finetune")}}, sort_keys=True)


def lm_base(scale: str, p: dict):
    lm = p["lm"]
    if lm["source"] == "tiny":
        return f"results/{scale}/{CP}/lm/tiny_base"
    if lm["source"] == "asset":
        return lm["asset"]
    return []


def probe_inputs(scale: str, p: dict) -> dict:
    if p["lm"]["source"] == "hub":
        return {}
    return {"base": lm_base(scale, p), "adapter": f"results/{scale}/{CP}/lm/adapter.safetensors"}
