"""The corpus: real English documents read offline from the Debian package `dict-gcide` (one
document per dictionary entry of the GNU Collaborative International Dictionary of English: a
long-tailed length distribution, from one-line entries to multi-page ones), or, at `paper` scale, a
Hugging Face dataset (hub id, or a `datasets.save_to_disk` folder). Tokenised once: a byte-level
BPE trained on the training documents with the `tokenizers` library, or a pretrained tokenizer
(the paper's `EleutherAI/gpt-neox-20b`). Every document ends with one EOT token."""

from __future__ import annotations


import numpy as np

from paperdag.core.corpora import read_gcide as _read_gcide
from paperdag.core.errors import PaperdagError

EOT = "<|endoftext|>"
def read_gcide(dict_path: str, index_path: str) -> list[str]:
    """GCIDE's entries (core.corpora.read_gcide): one document per entry."""
    return _read_gcide(dict_path, index_path, "config/papers/dataset_decomposition.yaml, key data.gcide")


def read_hf(cfg: dict) -> list[str]:
    """`hf.id` (+ `hf.config`, `hf.split`) from the hub, or `hf.disk_path` (a folder written by
    `datasets.Dataset.save_to_disk`); the first `max_docs` non-empty texts of `hf.text_column`."""
    import datasets

    h = cfg["hf"]
    if h.get("disk_path"):
        ds = datasets.load_from_disk(h["disk_path"])
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[h["split"]]
    else:
        ds = datasets.load_dataset(h["id"], h.get("config"), split=h["split"], streaming=True)
    out = []
    for row in ds:
        t = row[h["text_column"]]
        if t and t.strip():
            out.append(t.strip())
        if cfg.get("max_docs") and len(out) >= cfg["max_docs"]:
            break
    return out


def load_texts(cfg: dict) -> list[str]:
    if cfg["source"] == "gcide":
        docs = read_gcide(cfg["gcide"]["dict"], cfg["gcide"]["index"])
    elif cfg["source"] == "hf":
        docs = read_hf(cfg)
    else:
        raise PaperdagError(f"data.source: unknown source '{cfg['source']}' (gcide | hf)")
    rng = np.random.default_rng(cfg["seed"])
    order = rng.permutation(len(docs))
    if cfg.get("max_docs"):
        order = order[: cfg["max_docs"]]
    return [docs[i] for i in order]


def train_bpe(texts: list[str], vocab_size: int):
    """Byte-level BPE (GPT-2 style) trained on `texts`; EOT is token 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def pretrained_tokenizer(name: str):
    """A pretrained fast tokenizer (hub id or local folder) as a `tokenizers.Tokenizer`."""
    from transformers import AutoTokenizer

    t = AutoTokenizer.from_pretrained(name)
    return t.backend_tokenizer


def eot_id(tok) -> int:
    i = tok.token_to_id(EOT)
    if i is None:
        raise PaperdagError(f"the tokenizer has no '{EOT}' token (data.tokenizer)")
    return int(i)


def tokenize(tok, texts: list[str], batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """All documents, each followed by EOT, as one token array and document offsets
    (doc d = tokens[offsets[d]:offsets[d+1]])."""
    e = eot_id(tok)
    lens, chunks = [], []
    for s in range(0, len(texts), batch):
        for enc in tok.encode_batch(texts[s : s + batch], add_special_tokens=False):
            ids = enc.ids + [e]
            lens.append(len(ids))
            chunks.append(np.asarray(ids, dtype=np.int32))
    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lens)
    return np.concatenate(chunks), offsets


def split_docs(lengths: np.ndarray, val_docs: int, val_long_docs: int, long_min: int, seed: int) -> dict[str, np.ndarray]:
    """Held-out documents: `val` (random documents) and `val_long` (random documents of at least
    `long_min` tokens, for the long-context loss); the rest is `train`."""
    rng = np.random.default_rng(seed + 1)
    n = len(lengths)
    perm = rng.permutation(n)
    val = np.sort(perm[:val_docs])
    rest = perm[val_docs:]
    long_cand = rest[lengths[rest] >= long_min]
    if len(long_cand) < val_long_docs:
        raise PaperdagError(
            f"only {len(long_cand)} documents have >= {long_min} tokens, need data.val_long_docs={val_long_docs}; "
            "use more documents (data.max_docs) or fewer long validation documents"
        )
    val_long = np.sort(long_cand[:val_long_docs])
    taken = np.zeros(n, dtype=bool)
    taken[val] = True
    taken[val_long] = True
    return {"train": np.flatnonzero(~taken), "val": val, "val_long": val_long}
