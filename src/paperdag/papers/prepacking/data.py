"""Prompts for the benchmark. Each benchmark batch is an independent, fresh sample of prompts
from one named length distribution:

- `text` (real prompts, offline): texts of an offline source, sampled without replacement within
  a batch, tokenized with the model's tokenizer (`unit: tokens`; the prompt is the text's own
  token ids) or counted in whitespace words (`unit: words`, for a model without a tokenizer: the
  prompt is that many random ids), truncated to `max_len`. Sources: `gcide` (entries of the GNU
  Collaborative International Dictionary of English, Debian package dict-gcide) and `pydocs`
  (paragraphs of the Python reference manual's help topics, `pydoc_data.topics` of the running
  Python: no package needed).
- `lognormal` (synthetic): exp(N(log median, sigma)) clipped to [min, max], random token ids.
- `constant`: every prompt `length` tokens (no padding: the bound is 1).
- `hf` (paper scale): real prompts of a hub dataset (or a `save_to_disk` folder).

Token content of synthetic prompts is random vocabulary ids: prefill time does not depend on
which tokens they are."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from paperdag.core.corpora import GCIDE
from paperdag.core.corpora import read_gcide as _read_gcide
from paperdag.core.errors import PaperdagError

CFG = "config/papers/prepacking.yaml"
TEXT_SOURCES = ("gcide", "pydocs")
LENGTH_POOL = 2000  # texts tokenized once per source for the packer comparison (lengths resampled)
def read_gcide(dict_path: str = GCIDE[0], index_path: str = GCIDE[1]) -> list[str]:
    """GCIDE's entries (core.corpora.read_gcide), for a distribution with `source: gcide`."""
    return _read_gcide(dict_path, index_path, f"{CFG}, a distribution with `source: gcide`")


def read_pydocs() -> list[str]:
    """Paragraphs (blank-line separated) of the Python reference manual's help topics, in topic
    order (`pydoc_data.topics`, shipped with CPython)."""
    from pydoc_data.topics import topics

    return [p.strip() for key in sorted(topics) for p in re.split(r"\n\s*\n", topics[key]) if p.strip()]


@lru_cache(maxsize=None)
def text_pool(source: str) -> tuple[str, ...]:
    """The usable texts of a source (more than one word, as the official code's loaders)."""
    if source == "gcide":
        texts = read_gcide()
    elif source == "pydocs":
        texts = read_pydocs()
    else:
        raise PaperdagError(f"{CFG}: unknown text source '{source}' (one of {', '.join(TEXT_SOURCES)})")
    return tuple(t for t in texts if len(t.split()) > 1)


def source_info(source: str) -> dict:
    """What the texts are and which version of them (recorded in the plan and metrics)."""
    import platform

    pool = text_pool(source)
    info = {"source": source, "texts": len(pool)}
    if source == "pydocs":
        info["python"] = platform.python_version()
    if source == "gcide":
        info["files"] = list(GCIDE)
    return info


def sample_lengths(dist: dict, n: int, rng: np.random.Generator, length_scale: float = 1.0) -> list[int]:
    """Synthetic lengths. `lognormal`: exp(N(log median, sigma)), scaled by `length_scale`,
    rounded, clipped to [min, max] (also scaled). `constant`: every prompt `length` tokens."""
    kind = dist["kind"]
    if kind == "lognormal":
        x = np.exp(rng.normal(np.log(dist["median"]), dist["sigma"], size=n))
    elif kind == "constant":
        x = np.full(n, float(dist["length"]))
    else:
        raise PaperdagError(f"{CFG}: distribution kind '{kind}' has no synthetic lengths")
    lo = max(1, int(round(dist.get("min", 1) * length_scale)))
    hi = max(lo, int(round(dist.get("max", 10**6) * length_scale)))
    return [int(v) for v in np.clip(np.rint(x * length_scale), lo, hi)]


def text_prompts(dist: dict, n: int, rng: np.random.Generator, tokenizer=None, vocab_size: int | None = None,
                 low: int = 0) -> tuple[list[list[int]], list[int]]:
    """`n` texts of `dist['source']` sampled without replacement, as token ids (`unit: tokens`,
    with `tokenizer`) or as random ids of the texts' word counts (`unit: words`), truncated to
    `max_len`. Returns the prompts and the indices of the texts in the pool."""
    pool = text_pool(dist["source"])
    if len(pool) < n:
        raise PaperdagError(f"{CFG}: source '{dist['source']}' has only {len(pool)} usable texts, {n} requested")
    idx = [int(i) for i in rng.choice(len(pool), size=n, replace=False)]
    max_len = int(dist["max_len"])
    if dist.get("unit", "tokens") == "tokens":
        if tokenizer is None:
            raise PaperdagError(f"{CFG}: a `text` distribution with `unit: tokens` needs a model with a tokenizer "
                                "(a random model has none: use `unit: words`)")
        prompts = [tokenizer(pool[i], add_special_tokens=True, truncation=True, max_length=max_len)["input_ids"] for i in idx]
    else:
        lengths = [min(max_len, len(pool[i].split())) for i in idx]
        prompts = random_prompts(lengths, int(rng.integers(2**31)), vocab_size, low)
    return prompts, idx


def batch_seed(seed: int, d_i: int, bs: int, j: int) -> int:
    return int(seed) * 1_000_003 + d_i * 10_007 + bs * 101 + j


def plan_batches(p: dict) -> list[dict]:
    """Every benchmark batch: distribution, batch size, index (the replicate), and the seed of its
    fresh sample of prompts; synthetic distributions also get their lengths here. Deterministic
    for the config."""
    b = p["benchmark"]
    out = []
    for d_i, name in enumerate(b["distributions"]):
        dist = p["distributions"][name]
        for bs in b["batch_sizes"]:
            for j in range(b["batches"]):
                seed = batch_seed(p["seed"], d_i, bs, j)
                rec = {"dist": name, "bs": int(bs), "batch": j, "seed": seed}
                if dist["kind"] in ("lognormal", "constant"):
                    rec["lengths"] = sample_lengths(dist, bs, np.random.default_rng(seed), b.get("length_scale", 1.0))
                out.append(rec)
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
        raise PaperdagError(f"{CFG}: dataset {spec['id']} has no column '{field}' (has {ds.column_names})")
    texts = [t for t in ds[field] if isinstance(t, str) and len(t.split()) > 1]
    if len(texts) < n:
        raise PaperdagError(f"dataset {spec['id']}: only {len(texts)} usable texts, {n} requested")
    idx = np.random.default_rng(seed).choice(len(texts), size=n, replace=False)
    return [tokenizer(texts[i], add_special_tokens=True, truncation=True, max_length=max_len)["input_ids"] for i in idx]
