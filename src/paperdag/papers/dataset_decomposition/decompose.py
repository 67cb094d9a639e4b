"""Dataset decomposition (paper Sec. 2.1 and the official `make_dd_buckets.py`) and the
concat-and-chunk baseline.

A document of l tokens is cut into consecutive, non-overlapping pieces whose lengths are the
powers of two of l's binary expansion, largest first (l = 2^i1 + 2^i2 + ..., i1 > i2 > ...). A
piece longer than 2^i_max is not kept whole: as in the official script, its bucket k is drawn from
{i_min..i_max} with probability proportional to 2^(i_max - k) (so the tokens of long documents
spread evenly over the buckets), and the rest of the document is decomposed again. What is left
once no piece of bucket i_min fits is dropped (and counted). Every kept piece is a contiguous
span of one document, so no sequence ever mixes documents.

Piece length (`decompose.piece_tokens`), two conventions:
- `pow2_plus_1` (the default): a piece of bucket k holds 2^k + 1 tokens, i.e. a sequence of 2^k
  inputs with 2^k next-token targets. This is what the authors' code does
  (`scripts/make_dd_buckets.py`, `get_binary`: pieces `seq[:(1 << k) + 1]`, k = floor(log2(l - 1)))
  and what produced the paper's numbers; the model's sequence length stays 2^k.
- `pow2`: a piece holds 2^k tokens (2^k - 1 targets), as the paper's text words it.
Bucket counts of the two differ by about 1 % on real corpora (docs/CROSSCHECKS.md)."""

from __future__ import annotations

import numpy as np

PIECES = ("pow2_plus_1", "pow2")
DEFAULT_PIECE = "pow2_plus_1"


def piece_extra(piece: str) -> int:
    """Tokens a piece of bucket k holds beyond 2^k: 1 for `pow2_plus_1`, 0 for `pow2`."""
    if piece not in PIECES:
        from paperdag.core.errors import PaperdagError

        raise PaperdagError(f"decompose.piece_tokens: unknown convention '{piece}' (one of {', '.join(PIECES)})")
    return 1 if piece == "pow2_plus_1" else 0


def decompose_doc(length: int, i_min: int, i_max: int, rng: np.random.Generator,
                  piece: str = DEFAULT_PIECE) -> tuple[list[tuple[int, int]], int]:
    """Pieces of one document of `length` tokens as (start, bucket k) (a piece holds 2^k tokens,
    plus one with `pow2_plus_1`) and the number of tokens dropped at its end (too few for a piece
    of bucket i_min)."""
    extra = piece_extra(piece)
    pieces = []
    pos, rem = 0, int(length)
    ks = np.arange(i_min, i_max + 1)
    p = 2.0 ** (i_max - ks)
    p = p / p.sum()
    while rem - extra >= (1 << i_min):
        k = (rem - extra).bit_length() - 1  # floor(log2(rem - extra))
        if k > i_max:
            k = int(rng.choice(ks, p=p))
        pieces.append((pos, k))
        pos += (1 << k) + extra
        rem -= (1 << k) + extra
    return pieces, rem


def decompose(tokens: np.ndarray, offsets: np.ndarray, doc_ids: np.ndarray, i_min: int, i_max: int, seed: int,
              piece: str = DEFAULT_PIECE) -> dict:
    """Decompose the documents `doc_ids` of a corpus (doc d = tokens[offsets[d]:offsets[d+1]]).
    Returns per bucket i: `tokens` (n_i, 2^i + 1) with `pow2_plus_1` or (n_i, 2^i) with `pow2`,
    `doc` (n_i,), `start` (n_i,) in a dict keyed by i, plus `dropped` (tokens dropped per
    document, aligned with doc_ids)."""
    extra = piece_extra(piece)
    rng = np.random.default_rng(seed)
    per = {i: ([], []) for i in range(i_min, i_max + 1)}
    dropped = np.zeros(len(doc_ids), dtype=np.int64)
    for j, d in enumerate(doc_ids):
        length = int(offsets[d + 1] - offsets[d])
        pieces, rest = decompose_doc(length, i_min, i_max, rng, piece)
        dropped[j] = rest
        for start, k in pieces:
            per[k][0].append(d)
            per[k][1].append(start)
    buckets = {}
    for i, (docs, starts) in per.items():
        docs = np.asarray(docs, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64)
        n = (1 << i) + extra
        if len(docs):
            idx = offsets[docs][:, None] + starts[:, None] + np.arange(n)[None, :]
            toks = tokens[idx].astype(np.int32)
        else:
            toks = np.zeros((0, n), dtype=np.int32)
        buckets[i] = {"tokens": toks, "doc": docs, "start": starts}
    return {"buckets": buckets, "dropped": dropped}


def concat_and_chunk(tokens: np.ndarray, offsets: np.ndarray, doc_ids: np.ndarray, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: shuffle the documents, concatenate them (each already ends with its EOT
    token), cut the stream into chunks of `length` tokens (the incomplete last chunk is dropped).
    Returns the chunks (n, length) and, for document masking, the index of the document each
    token comes from (n, length)."""
    rng = np.random.default_rng(seed)
    order = np.asarray(doc_ids)[rng.permutation(len(doc_ids))]
    parts = [tokens[offsets[d] : offsets[d + 1]] for d in order]
    stream = np.concatenate(parts).astype(np.int32)
    lens = np.array([len(p) for p in parts])
    which = np.repeat(order, lens)
    n = len(stream) // length
    return stream[: n * length].reshape(n, length), which[: n * length].reshape(n, length)


def document_mask(doc_of_token: np.ndarray) -> np.ndarray:
    """Boolean attention mask (batch, 1, L, L), True = may attend: causal and same document."""
    d = np.asarray(doc_of_token)
    L = d.shape[1]
    causal = np.tril(np.ones((L, L), dtype=bool))
    same = d[:, :, None] == d[:, None, :]
    return (same & causal[None])[:, None]


def bucket_token_counts(buckets: dict) -> dict[int, int]:
    return {i: int(b["tokens"].size) for i, b in buckets.items()}


def avg_context_length(seq_lengths) -> float:
    """Paper Appendix F: mean number of same-sequence tokens a token can attend to,
    sum_i l_i (l_i - 1) / 2 / sum_i l_i."""
    l = np.asarray(seq_lengths, dtype=np.float64)
    return float((l * (l - 1) / 2).sum() / l.sum()) if l.sum() else 0.0
