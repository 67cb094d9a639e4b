"""The baselines: a frequency-based unsupervised splitter (Koehn & Knight 2003 style, the stand-in
for SECOS), the language-specific tool `compound-split` (German / Dutch CharSplit), and few-shot
prompting of a small pretrained LLM (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import itertools
import math

from . import lang as L


# -- frequency-based unsupervised splitter -------------------------------------------------------------
def lemma_candidates(part: str, lang: str, final: bool, min_part: int) -> list[tuple[str, str]]:
    """(lemma, linker) readings of a surface part: a non-final part may end in a linker or have
    lost a final letter (the language's elision)."""
    out = [(part, "")]
    if not final:
        for lk in L.SPLITTER_LINKERS[lang]:
            if part.endswith(lk) and len(part) - len(lk) >= min_part:
                out.append((part[: -len(lk)], lk))
        for r in L.SPLITTER_RESTORES[lang]:
            out.append((part + r, "-" + r))
    return out


def web_frequencies(web_rows: list[dict], lang: str) -> dict[str, float]:
    """Relative word frequencies counted from the unlabelled Stage-1 web words of `lang` (the data
    Stage 1 trains on, nothing else), as SECOS counts a corpus: a word written with hyphens counts its
    hyphen-separated parts, any other word counts whole; lower-cased."""
    counts: dict[str, int] = {}
    for r in web_rows:
        if r["lang"] != lang:
            continue
        for tok in r["target"].lower().split("-"):
            if tok:
                counts[tok] = counts.get(tok, 0) + 1
    total = sum(counts.values()) or 1
    return {w: c / total for w, c in counts.items()}


class FrequencySplitter:
    """Choose the split (1 to max_parts parts, each >= min_part letters, linkers allowed) that
    maximises the geometric mean of the parts' corpus frequencies; the unsplit word competes with
    its own frequency (an unseen word has frequency 0, so any known split wins). Normalization:
    the lemma parts, German parts capitalised when the word list spells them so."""

    def __init__(self, lang: str, freqs: dict[str, float], word_list: set[str] | None = None,
                 min_part: int = 3, max_parts: int = 3):
        self.lang, self.freqs, self.wl = lang, freqs, word_list or set()
        self.min_part, self.max_parts = min_part, max_parts

    def _case(self, lemma: str) -> str:
        if self.lang != "de":
            return lemma
        cap = lemma[:1].upper() + lemma[1:]
        return cap if (cap in self.wl and lemma not in self.wl) else lemma

    def split(self, word: str) -> tuple[str, str]:
        """(segmentation, normalization) of `word`."""
        w = word.lower()
        best = (self.freqs.get(w, 0.0), 1, None)  # (score, -parts tie-break via count, reading)
        n = len(w)
        for k in range(2, self.max_parts + 1):
            for cuts in itertools.combinations(range(self.min_part, n - self.min_part + 1), k - 1):
                edges = (0,) + cuts + (n,)
                if any(edges[i + 1] - edges[i] < self.min_part for i in range(k)):
                    continue
                parts = [w[edges[i]:edges[i + 1]] for i in range(k)]
                options = [lemma_candidates(p, self.lang, i == k - 1, self.min_part) for i, p in enumerate(parts)]
                for reading in itertools.product(*options):
                    fs = [self.freqs.get(lem, 0.0) for lem, _ in reading]
                    if min(fs) <= 0:
                        continue
                    score = math.exp(sum(math.log(f) for f in fs) / k)
                    if score > best[0] or (score == best[0] and best[2] is not None and k < best[1]):
                        best = (score, k, (edges, reading))
        if best[2] is None:
            return word, word
        edges, reading = best[2]
        seg = "-".join(word[edges[i]:edges[i + 1]] for i in range(len(reading)))
        norm_parts = [self._case(lem) for lem, _ in reading]
        if self.lang == "de":
            norm_parts[0] = word[0] + norm_parts[0][1:] if word[:1].isupper() else norm_parts[0]
        return seg, "-".join(norm_parts)


# -- compound-split (CharSplit for German / Dutch) ---------------------------------------------------
def charsplit(word: str, lang: str, threshold: float, depth: int = 2, min_len: int = 6) -> str:
    """Segmentation by compound-split's char_split (best head/tail split if its score exceeds
    `threshold`, applied again to parts of >= 8 letters up to `depth` levels)."""
    from compound_split import char_split

    if depth <= 0 or len(word) < min_len:
        return word
    score, _head, tail = char_split.split_compound(word, lang)[0]
    if score <= threshold or not tail or len(tail) >= len(word):
        return word
    cut = len(word) - len(tail)
    head_s, tail_s = word[:cut], word[cut:]
    return charsplit(head_s, lang, threshold, depth - 1, 8) + "-" + charsplit(tail_s, lang, threshold, depth - 1, 8)


def charsplit_norm(seg: str, lang: str) -> str:
    """compound-split's own normalization: German parts capitalised (it does not strip linkers)."""
    parts = seg.split("-")
    if lang == "de":
        parts = [parts[0]] + [p[:1].upper() + p[1:] for p in parts[1:]]
    return "-".join(parts)


# -- few-shot LLM -------------------------------------------------------------------------------------
LANG_NAMES = {"de": "German", "nl": "Dutch", "sv": "Swedish", "da": "Danish"}


def fewshot_prompt(lang: str, demos: list[dict], word: str) -> str:
    """The fixed prompt (the paper's prompt format is not public): an instruction, k demonstrations
    of the same language (word -> normalized parts joined by '-'), then the query."""
    head = (f"Split each {LANG_NAMES[lang]} word into the words it is made of, in dictionary form, joined by '-'. "
            "A word that is not a compound stays unchanged.\n\n")
    body = "".join(f"Word: {d['word']}\nParts: {d['norm']}\n\n" for d in demos)
    return head + body + f"Word: {word}\nParts:"


def parse_answer(text: str) -> str:
    """First line of the completion, stripped."""
    return text.strip().split("\n")[0].strip()


def hf_pieces(tokenizer, word: str, prefix: str = " ") -> list[str]:
    """The word's tokens as substrings of the word, tokenized as it appears in the prompt (after a
    space); the space is stripped from the first token."""
    enc = tokenizer(prefix + word, add_special_tokens=False, return_offsets_mapping=True)
    pieces = []
    for a, b in enc["offset_mapping"]:
        a = max(a, len(prefix))
        if b > a:
            pieces.append((prefix + word)[a:b])
    return pieces
