"""The tokenizer experiment: SentencePiece unigram trained on a compound-rich word multiset as whole
words (plain SPM) or as the constituents our Stage-1 model predicts (CompoundPiece: pre-split), and
the hard-compound rate of each on gold compounds (the share whose constituent boundaries are not all
token boundaries)."""

from __future__ import annotations

import io

from . import lang as L


def train_spm(units: dict[str, int], vocab_size: int, seed: int, max_repeat: int) -> bytes:
    """A unigram model (serialized) trained on `units` (string -> count; each unit one sentence,
    repeated min(count, max_repeat) times; `add_dummy_prefix=False` as in the paper). Deterministic
    with one thread and no input shuffling (`seed` is kept for the paper scale's sampling)."""
    import sentencepiece as spm

    lines = []
    for u, c in sorted(units.items()):
        lines += [u] * min(c, max_repeat)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
                                   model_type="unigram", add_dummy_prefix=False, remove_extra_whitespaces=False,
                                   hard_vocab_limit=False, character_coverage=1.0, num_threads=1,
                                   seed_sentencepiece_size=100000, shuffle_input_sentence=False,
                                   minloglevel=2)
    return buf.getvalue()


def processor(model_bytes: bytes):
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_proto=model_bytes)


def pieces(sp, word: str) -> list[str]:
    return [p.replace("\u2581", "") for p in sp.encode(word, out_type=str) if p.replace("\u2581", "")]


def constituent_units(corpus: dict[str, int], segmentation: dict[str, str]) -> dict[str, int]:
    """The constituent multiset: each word's count goes to each of its predicted parts (words the
    model leaves whole count as one unit)."""
    out: dict[str, int] = {}
    for w, c in corpus.items():
        for part in segmentation.get(w, w).split("-"):
            if part:
                out[part] = out.get(part, 0) + c
    return out


def hard_rate(sp, rows: list[dict]) -> float:
    """Share of gold compounds (rows with 'seg') that are hard for tokenizer `sp`."""
    hard = [L.is_hard(r["seg"], pieces(sp, r["word"])) for r in rows]
    return sum(hard) / max(1, len(hard))
