"""surfacefusion's data: English grapheme-to-phoneme (G2P) transduction, the offline task with a strong
surface correspondence between source and target.

Source: the letters of real English words (wordfreq's frequency list); target: the phonemes that
Debian's `espeak-ng --ipa` gives for the word said on its own (citation form), one phoneme per token,
stress marks (ˈ ˌ) as tokens of their own. Splits are by word (a word is in exactly one split),
drawn with a fixed seed. One joint vocabulary for letters and phonemes (`--joined-dictionary`), so the
embedding matrix is shared by source, target and softmax, and letters and phonemes written with the
same character (b, d, f, k, ...) are the same token: the "shared" tokens of the paper's PCA figure.

At `paper` scale the same stage reads a translation dataset (Hugging Face `datasets`, a hub id or a
`save_to_disk` folder) and tokenises both sides with one joint byte-level BPE (see `load_translation`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from paperdag.core.errors import PaperdagError

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
STRESS = ("ˈ", "ˌ")


def candidate_words(lang: str, top_n: int, min_len: int, max_len: int) -> list[str]:
    """Lower-case alphabetic words of `lang`'s wordfreq top-`top_n` list, in frequency order."""
    import wordfreq

    pat = re.compile(rf"[a-z]{{{min_len},{max_len}}}")
    seen, out = set(), []
    for w in wordfreq.top_n_list(lang, top_n):
        if pat.fullmatch(w) and w not in seen:
            seen.add(w)
            out.append(w)
    return out


def split_phonemes(ipa: str) -> list[str]:
    """espeak-ng's `--sep=_` IPA output of one word -> phoneme tokens, stress marks apart.
    'h_ə_l_ˈoʊ' -> ['h', 'ə', 'l', 'ˈ', 'oʊ']."""
    toks = []
    for seg in ipa.strip().split("_"):
        seg = seg.strip()
        while seg and seg[0] in STRESS:
            toks.append(seg[0])
            seg = seg[1:]
        if seg:
            toks.append(seg)
    return toks


def espeak_ipa(words: list[str], voice: str) -> list[list[str]]:
    """Phoneme tokens of each word, said on its own (one clause per word: 'word.' per line)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise PaperdagError("surfacefusion: Debian's `espeak-ng` is not installed (apt-get install -y espeak-ng; bootstrap.sh installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "words.txt"
        f.write_text("".join(f"{w}.\n" for w in words), encoding="utf-8")
        out = subprocess.run([exe, "-q", "--ipa", "--sep=_", "-v", voice, "-f", str(f)], capture_output=True, text=True, check=True).stdout
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if len(lines) != len(words):
        raise PaperdagError(f"surfacefusion: espeak-ng gave {len(lines)} lines for {len(words)} words (voice {voice})")
    return [split_phonemes(ln) for ln in lines]


def make_g2p(d: dict, seed: int) -> dict:
    """The G2P splits: {'train'|'val'|'test': [(letters, phonemes)]}, split by word with `seed`."""
    words = candidate_words(d["lang"], d["top_n"], d["min_len"], d["max_len"])
    n = d["n_train"] + d["n_val"] + d["n_test"]
    if len(words) < n:
        raise PaperdagError(f"surfacefusion: only {len(words)} words pass the filters, the splits ask for {n} (config data.top_n)")
    rng = np.random.default_rng(seed)
    chosen = [words[i] for i in sorted(rng.choice(len(words), size=n, replace=False))]
    prons = espeak_ipa(chosen, d["voice"])
    pairs = [(list(w), p) for w, p in zip(chosen, prons) if 0 < len(p) <= d["max_phonemes"]]
    order = rng.permutation(len(pairs))
    pairs = [pairs[i] for i in order]
    n_val, n_test = d["n_val"], d["n_test"]
    return {"val": pairs[:n_val], "test": pairs[n_val : n_val + n_test], "train": pairs[n_val + n_test :]}


def build_vocab(train_pairs) -> list[str]:
    """Joint vocabulary of source and target tokens seen in training (sorted: deterministic)."""
    toks = sorted({t for s, y in train_pairs for t in (*s, *y)})
    return list(SPECIALS) + toks


def token_types(vocab: list[str], train_pairs) -> list[str]:
    """'source' / 'target' / 'shared' / 'special' per vocabulary entry."""
    src = {t for s, _ in train_pairs for t in s}
    tgt = {t for _, y in train_pairs for t in y}
    out = []
    for t in vocab:
        if t in SPECIALS:
            out.append("special")
        elif t in src and t in tgt:
            out.append("shared")
        elif t in src:
            out.append("source")
        else:
            out.append("target")
    return out


def encode(pairs, vocab: list[str], max_src: int, max_tgt: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded id arrays: source (letters + </s>), target (<s> phonemes </s>)."""
    idx = {t: i for i, t in enumerate(vocab)}
    unk = idx[UNK]
    src = np.zeros((len(pairs), max_src + 1), dtype=np.int64)
    tgt = np.zeros((len(pairs), max_tgt + 2), dtype=np.int64)
    for r, (s, y) in enumerate(pairs):
        ids = [idx.get(t, unk) for t in s[:max_src]] + [idx[EOS]]
        src[r, : len(ids)] = ids
        ids = [idx[BOS]] + [idx.get(t, unk) for t in y[:max_tgt]] + [idx[EOS]]
        tgt[r, : len(ids)] = ids
    return src, tgt


def load_translation(d: dict, seed: int) -> dict:
    """`paper` scale: a translation dataset (hub id, or a local `save_to_disk` folder) with a
    `translation` column {src_lang: ..., tgt_lang: ...}; splits train/validation/test as shipped
    (capped by n_train/n_val/n_test). Tokens: one joint byte-level BPE trained on both sides of the
    training split (the paper's joined dictionary, shared embeddings)."""
    import datasets
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    path = d["dataset"]
    if Path(path).exists():
        ds = datasets.load_from_disk(path)
    else:
        ds = datasets.load_dataset(path, d.get("dataset_config") or None)
    names = {"train": "train", "val": "validation", "test": "test"}
    raw = {}
    for part, hf in names.items():
        split = ds[hf]
        cap = d[f"n_{part}"]
        if cap and len(split) > cap:
            split = split.select(range(cap))
        raw[part] = [(ex["translation"][d["src_lang"]], ex["translation"][d["tgt_lang"]]) for ex in split]
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    trainer = trainers.BpeTrainer(vocab_size=d["bpe_vocab"], special_tokens=list(SPECIALS), show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((s for pair in raw["train"] for s in pair), trainer=trainer)
    out = {}
    for part, pairs in raw.items():
        out[part] = [(tok.encode(s).tokens, tok.encode(t).tokens) for s, t in pairs]
    return out


def make_splits(d: dict, seed: int) -> dict:
    if d["source"] == "g2p":
        return make_g2p(d, seed)
    if d["source"] == "translation":
        return load_translation(d, seed)
    raise PaperdagError(f"surfacefusion: unknown data.source '{d['source']}' (g2p | translation)")
