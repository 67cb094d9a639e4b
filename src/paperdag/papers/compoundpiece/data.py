"""The compoundpiece word data, from real word lists (wordfreq frequencies, Debian word lists):

- constituent pool per language: frequent words of `wordfreq` that the Debian list spells as a
  word (German: nouns = entries the list spells capitalised only);
- gold compounds: 2-3 pool words joined with the language's linking elements (lang.py), each
  first constituent with one linker drawn once (a word always links the same way);
- negatives: pool words verified unsplittable into two frequent words (the paper's negatives are
  the normalized constituents themselves);
- silver compounds: real list words that split one way only into two frequent words;
- Stage-1 "web" words: a frequency-weighted sample of compounds written with hyphens
  (German Haus-Tür / Haus-tür), their inputs made by the paper's case-continuity dehyphenation,
  balanced with non-hyphenated words (the vocabulary, frequency-weighted); the leakage rule moves
  every web word that is (lower-cased) an evaluation word to the web validation set;
- the compound-rich word multiset the tokenizers are trained on.
All of it is a pure function of (config, seed)."""

from __future__ import annotations

import math
import random
from pathlib import Path

from paperdag.core.errors import PaperdagError

from . import lang as L

DICTS = {"de": "ngerman", "nl": "dutch", "sv": "swedish", "da": "danish"}
DICT_DIR = Path("/usr/share/dict")
DEBIAN_PKG = {"de": "wngerman", "nl": "wdutch", "sv": "wswedish", "da": "wdanish"}


def read_word_list(lang: str, dict_dir: Path = DICT_DIR) -> set[str]:
    path = dict_dir / DICTS[lang]
    if not path.is_file():
        raise PaperdagError(f"compoundpiece: word list {path} missing: `apt-get install {DEBIAN_PKG[lang]}` "
                            "(bootstrap.sh installs it)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # wswedish ships ISO-8859-1
        text = raw.decode("latin-1")
    return {w.strip() for w in text.splitlines() if w.strip()}


def vocabulary(lang: str, top_n: int) -> list[tuple[str, float]]:
    """(word, frequency) of the top_n wordfreq words that are purely alphabetic."""
    import wordfreq

    out = []
    for w in wordfreq.top_n_list(lang, top_n):
        if w.isalpha():
            out.append((w, wordfreq.word_frequency(w, lang)))
    return out


def pool_words(lang: str, vocab: list[tuple[str, float]], wl: set[str], min_len: int, max_len: int,
               size: int, skip_top: int = 0) -> list[tuple[str, float]]:
    """Constituent pool: frequent words in dictionary case (German: capitalised-only entries = nouns;
    the other languages: list words past the `skip_top` most frequent, which are function words)."""
    out = []
    for rank, (w, f) in enumerate(vocab):
        if lang != "de" and rank < skip_top:
            continue
        if not (min_len <= len(w) <= max_len):
            continue
        if lang == "de":
            cap = w[0].upper() + w[1:]
            if cap in wl and w not in wl:
                out.append((cap, f))
        elif w in wl:
            out.append((w, f))
        if len(out) >= size:
            break
    return out


def splittable(word: str, lang: str, known: set[str], min_part: int = 3) -> list[tuple[str, ...]]:
    """Every way `word` splits into two known words (lower-cased), a linker allowed after the first
    and a dropped final letter restored (the testbed's linkers)."""
    w = word.lower()
    out = []
    for i in range(min_part, len(w) - min_part + 1):
        head, tail = w[:i], w[i:]
        if tail not in known:
            continue
        cands = {head}
        for lk in L.SPLITTER_LINKERS[lang]:
            if head.endswith(lk) and len(head) - len(lk) >= min_part:
                cands.add(head[: -len(lk)])
        for r in L.SPLITTER_RESTORES[lang]:
            cands.add(head + r)
        for c in cands:
            if c in known:
                out.append((c, tail))
    return out


def _weighted(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    return rng.choices(items, weights=weights, k=k)


def build(p: dict, seed: int) -> dict:
    d = p["data"]
    rng = random.Random(seed)
    out = {"langs": list(d["langs"]), "test": [], "valid": [], "train": [], "silver": [], "web_train": [],
           "web_valid": [], "corpus": {}, "fewshot": {}}
    web_all = []
    for lang in d["langs"]:
        lrng = random.Random(f"{seed}-{lang}")
        wl = read_word_list(lang)
        vocab = vocabulary(lang, d["vocab_size"])
        known = {w for w, _ in vocab if len(w) >= 3}
        pool = pool_words(lang, vocab, wl, d["min_part_len"], d["max_part_len"], d["pool_size"], d["skip_top"])
        if len(pool) < 50:
            raise PaperdagError(f"compoundpiece: only {len(pool)} pool words for {lang} (data.pool_size)")
        words = [w for w, _ in pool]
        wts = [f ** d["freq_alpha"] for _, f in pool]
        linker_of = {w: L.choose_linker(lang, w, lrng) for w in words}

        # negatives: pool words that are not themselves splittable into two frequent words
        simplex = [w for w in words if not splittable(w, lang, known)]
        lrng.shuffle(simplex)

        def draw_compound(r: random.Random):
            k = 3 if r.random() < d["p_three_parts"] else 2
            parts = _weighted(r, words, wts, k)
            if len({x.lower() for x in parts}) < k:
                return None
            word, seg, norm = L.build_compound(lang, parts, [linker_of[x] for x in parts[:-1]])
            if len(word.encode()) > d["max_bytes"] or len(norm.encode()) > d["max_bytes"] + 4:
                return None
            return word, seg, norm

        # gold compounds, de-duplicated, and split test / valid / train
        n_pos = d["n_test_pos"] + d["n_valid_pos"] + d["n_train_pos"]
        gold, seen = [], set()
        for _ in range(50 * n_pos):
            c = draw_compound(lrng)
            if c and c[0].lower() not in seen and c[0].lower() not in known:
                seen.add(c[0].lower())
                gold.append(c)
            if len(gold) >= n_pos:
                break
        n_neg = d["n_test_neg"] + d["n_valid_neg"] + d["n_train_neg"]
        if len(gold) < n_pos or len(simplex) < n_neg:
            raise PaperdagError(f"compoundpiece: {lang}: {len(gold)} compounds / {len(simplex)} negatives for "
                                f"{n_pos} / {n_neg} asked (data.n_*_pos, data.n_*_neg, data.pool_size)")
        a, b = d["n_test_pos"], d["n_test_pos"] + d["n_valid_pos"]
        na, nb = d["n_test_neg"], d["n_test_neg"] + d["n_valid_neg"]
        for split, pos, neg in (("test", gold[:a], simplex[:na]), ("valid", gold[a:b], simplex[na:nb]),
                                ("train", gold[b:n_pos], simplex[nb:n_neg])):
            rows = [{"lang": lang, "word": w, "seg": s, "norm": n, "pos": True} for w, s, n in pos]
            rows += [{"lang": lang, "word": w, "seg": w, "norm": w, "pos": False} for w in neg]
            out[split] += rows
        eval_words = {r["word"].lower() for r in out["test"] + out["valid"] if r["lang"] == lang}

        # silver: real list words (German: capitalised) splitting one way only into two pool-like words
        nounish = {w.lower() for w, _ in pool_words(lang, vocab, wl, 4, 12, d["silver_pool"], d["skip_top"])}
        silver = []
        for w, _ in vocab:
            if not (d["min_part_len"] * 2 <= len(w) <= d["max_bytes"]) or w in eval_words:
                continue
            ww = (w[0].upper() + w[1:]) if lang == "de" else w
            if ww not in wl:
                continue
            sp = splittable(w, lang, nounish, min_part=4)
            if len(sp) == 1:
                cut = len(w) - len(sp[0][1])
                silver.append({"lang": lang, "word": ww, "seg": ww[:cut] + "-" + ww[cut:], "pos": True})
            if len(silver) >= d["n_silver"]:
                break
        out["silver"] += silver
        eval_words |= {r["word"].lower() for r in silver}

        # Stage-1 web words: hyphenated compounds (frequency-weighted) + non-hyphenated words
        vw = [w for w, _ in vocab]
        vwt = [f ** d["freq_alpha"] for _, f in vocab]
        web = []
        n_web = d["n_web"]
        while len(web) < n_web:
            c = draw_compound(lrng)
            if not c:
                continue
            _, seg, _ = c
            parts = seg.split("-")
            if lang == "de" and lrng.random() < d["p_web_capitalised"]:
                parts = [parts[0]] + [x[0].upper() + x[1:] for x in parts[1:]]
            hyph = "-".join(parts)
            web.append((L.dehyphenate(hyph, lrng, d["p_case_continuity"]), hyph))
        n_hyph = len(web)
        while len(web) < 2 * n_hyph:
            w = _weighted(lrng, vw, vwt, 1)[0]
            cap = w[0].upper() + w[1:]
            ww = cap if (lang == "de" and cap in wl and w not in wl) else w
            if len(ww) >= 3 and ww in wl and len(ww.encode()) <= d["max_bytes"]:
                web.append((ww, ww))
        lrng.shuffle(web)
        web_all.append((lang, lrng, web))
        out["fewshot"][lang] = [r for r in out["train"] if r["lang"] == lang][: d["n_fewshot_pool"]]

    # the leakage rule, across languages (the model sees no language tag): every web word that is
    # (lower-cased) an evaluation word of any language goes to the Stage-1 validation set
    eval_all = {r["word"].lower() for k in ("test", "valid", "silver") for r in out[k]}
    for lang, lrng, web in web_all:
        for inp, tgt in web:
            leak = inp.lower() in eval_all or L.rejoin(tgt).lower() in eval_all
            if leak or lrng.random() < d["web_valid_frac"]:
                out["web_valid"].append({"lang": lang, "input": inp, "target": tgt, "leak": leak})
            else:
                out["web_train"].append({"lang": lang, "input": inp, "target": tgt})
        # the compound-rich word multiset the tokenizers learn from (web words, joined)
        counts: dict[str, int] = {}
        for r in out["web_train"]:
            if r["lang"] == lang:
                counts[r["input"]] = counts.get(r["input"], 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: d["n_corpus"]]
        out["corpus"][lang] = dict(sorted(top))
    out["sizes"] = {k: len(v) for k, v in out.items() if isinstance(v, list) and k != "langs"}
    return out
