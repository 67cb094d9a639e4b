"""Prompts for the benchmark: token lengths drawn from a named distribution (the paper's datasets'
length statistics, recorded in config, or a synthetic log-normal), or real prompts from hub
datasets at the paper scale. Token content is random vocabulary ids for synthetic prompts:
prefill time does not depend on which tokens they are."""

from __future__ import annotations

import numpy as np

from paperdag.core.errors import PaperdagError


def sample_lengths(dist: dict, n: int, rng: np.random.Generator, length_scale: float = 1.0) -> list[int]:
    """`lognormal`: exp(N(log median, sigma)), scaled by `length_scale`, rounded, clipped to
    [min, max] (also scaled). `constant`: every prompt `length` tokens."""
    kind = dist["kind"]
    if kind == "lognormal":
        x = np.exp(rng.normal(np.log(dist["median"]), dist["sigma"], size=n))
    elif kind == "constant":
        x = np.full(n, float(dist["length"]))
    else:
        raise PaperdagError(f"config/papers/prepacking.yaml: unknown length distribution kind '{kind}'")
    lo = max(1, int(round(dist.get("min", 1) * length_scale)))
    hi = max(lo, int(round(dist.get("max", 10**6) * length_scale)))
    return [int(v) for v in np.clip(np.rint(x * length_scale), lo, hi)]


def plan_batches(p: dict) -> list[dict]:
    """Every benchmark batch: distribution, batch size, index, prompt lengths and the seed of its
    token content. Deterministic for the config."""
    b = p["benchmark"]
    out = []
    for d_i, name in enumerate(b["distributions"]):
        dist = p["distributions"][name]
        for bs in b["batch_sizes"]:
            for j in range(b["batches"]):
                seed = int(p["seed"]) * 1_000_003 + d_i * 10_007 + bs * 101 + j
                rng = np.random.default_rng(seed)
                out.append({"dist": name, "bs": int(bs), "batch": j, "seed": seed,
                            "lengths": sample_lengths(dist, bs, rng, b.get("length_scale", 1.0))})
    return out


def random_prompts(lengths: list[int], seed: int, vocab_size: int, low: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed + 7)
    low = min(low, vocab_size - 2)
    return [rng.integers(low, vocab_size, size=n).tolist() for n in lengths]


def hf_prompts(spec: dict, tokenizer, n: int, seed: int, max_len: int) -> list[list[int]]:
    """Real prompts (paper scale): a hub dataset (or a folder saved with `save_to_disk`), texts
    with more than one word, `n` sampled with `seed`, tokenized and truncated to `max_len`."""
    import os

    import datasets

    if os.path.isdir(spec["id"]):
        ds = datasets.load_from_disk(spec["id"])
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[spec.get("split", "train")]
    else:
        ds = datasets.load_dataset(spec["id"], spec.get("config"), split=spec.get("split", "train"))
    field = spec["field"]
    if field not in ds.column_names:
        raise PaperdagError(f"config/papers/prepacking.yaml: dataset {spec['id']} has no column '{field}' (has {ds.column_names})")
    texts = [t for t in ds[field] if isinstance(t, str) and len(t.split()) > 1]
    if len(texts) < n:
        raise PaperdagError(f"dataset {spec['id']}: only {len(texts)} usable texts, {n} requested")
    idx = np.random.default_rng(seed).choice(len(texts), size=n, replace=False)
    return [tokenizer(texts[i], add_special_tokens=True, truncation=True, max_length=max_len)["input_ids"] for i in idx]
