"""Language rules of the compoundpiece testbed, pure functions (tested on hand cases):

- linking elements per language (`LINKERS`, `choose_linker`) and how a compound is built from its
  lemma constituents (`build_compound` -> surface word, gold segmentation, gold normalization);
- the paper's dehyphenation with case continuity (`dehyphenate`, §2.2 step 5 of the notes);
- the minimal-edit-distance alignment of predicted constituents to the surface (`align_split`, the
  paper's `levenshtein_split`) that turns any model output into a surface segmentation;
- the easy / hard split of a compound under a tokenizer (`is_hard`).

Conventions (as in the paper's Wiktionary data): a segmentation is the surface word with "-" at the
constituent boundaries, linking elements attached to the preceding part (Bundes-agentur); a
normalization is the lemma constituents joined by "-" (Bund-Agentur; German nouns capitalised).
Non-compounds are their own segmentation and normalization."""

from __future__ import annotations

import itertools
import random

LANGS = ("de", "nl", "sv", "da")

# Linking elements by language: (suffix class of the first constituent, [(linker, weight)]).
# "-e" means: drop a final "e" (German Schule -> Schulbuch); "-a" drops a final "a" (Swedish
# flicka -> flickskola). The first matching class wins; the last class (suffix "") is the default.
LINKERS = {
    "de": [
        (("ung", "heit", "keit", "schaft", "ion", "tät", "ling", "tum"), [("s", 1.0)]),
        (("e",), [("n", 0.7), ("-e", 0.3)]),
        (("",), [("", 0.72), ("s", 0.1), ("es", 0.06), ("en", 0.06), ("er", 0.06)]),
    ],
    "nl": [
        (("heid", "ing", "schap", "teit"), [("s", 1.0)]),
        (("e",), [("n", 0.5), ("", 0.5)]),
        (("",), [("", 0.75), ("s", 0.15), ("en", 0.1)]),
    ],
    "sv": [
        (("ing", "het", "tion", "else"), [("s", 1.0)]),
        (("a",), [("-a", 0.5), ("", 0.5)]),
        (("",), [("", 0.75), ("s", 0.25)]),
    ],
    "da": [
        (("hed", "ing", "tion", "skab"), [("s", 1.0)]),
        (("e",), [("-e", 0.3), ("", 0.7)]),
        (("",), [("", 0.75), ("s", 0.2), ("e", 0.05)]),
    ],
}

# what an unsupervised splitter may strip at a boundary (all linkers of the language)
SPLITTER_LINKERS = {
    lang: sorted({lk for _, opts in rules for lk, _ in opts if lk and not lk.startswith("-")}, key=len)
    for lang, rules in LINKERS.items()
}
SPLITTER_RESTORES = {lang: sorted({lk[1:] for _, opts in rules for lk, _ in opts if lk.startswith("-")})
                     for lang, rules in LINKERS.items()}


def choose_linker(lang: str, first: str, rng: random.Random) -> str:
    """A linker for first constituent `first` (drawn once per constituent by the data builder, so a
    word always links the same way, as in the real languages)."""
    low = first.lower()
    for suffixes, opts in LINKERS[lang]:
        if any(low.endswith(s) for s in suffixes):
            r, acc = rng.random(), 0.0
            for lk, w in opts:
                acc += w
                if r < acc:
                    return lk
            return opts[-1][0]
    raise AssertionError("the default class matches every word")


def apply_linker(first: str, linker: str) -> str:
    """The surface form of a non-final constituent with its linker."""
    if linker.startswith("-"):
        drop = linker[1:]
        return first[: -len(drop)] if first.lower().endswith(drop) and len(first) > len(drop) + 1 else first
    return first + linker


def surface_case(lang: str, part: str, first: bool) -> str:
    """German writes a compound with one capital at the start; the other languages in lower case."""
    if lang == "de":
        return part if first else part.lower()
    return part.lower()


def norm_case(lang: str, part: str) -> str:
    """Normalized constituents keep their dictionary case (German nouns capitalised)."""
    return part if lang == "de" else part.lower()


def build_compound(lang: str, parts: list[str], linkers: list[str]) -> tuple[str, str, str]:
    """(word, gold segmentation, gold normalization) of lemma constituents `parts` with `linkers`
    (one per non-final part)."""
    assert len(linkers) == len(parts) - 1 and len(parts) >= 2
    seg_parts = []
    for i, part in enumerate(parts):
        s = apply_linker(part, linkers[i]) if i < len(parts) - 1 else part
        seg_parts.append(surface_case(lang, s, i == 0))
    word = "".join(seg_parts)
    return word, "-".join(seg_parts), "-".join(norm_case(lang, p) for p in parts)


def rejoin(segmentation: str) -> str:
    """The word a segmentation spells (segmentations are surface splits: just drop the hyphens)."""
    return segmentation.replace("-", "")


def boundaries(segmentation: str) -> list[int]:
    """Character offsets in the word at which a new constituent starts."""
    out, pos = [], 0
    for part in segmentation.split("-")[:-1]:
        pos += len(part)
        out.append(pos)
    return out


# -- Stage 1: hyphenated web words -> inputs (the paper's corruption) ----------------------------------
def dehyphenate(hyphenated: str, rng: random.Random | None = None, p_case: float = 1.0) -> str:
    """Remove every hyphen; with probability p_case fix the case of the following character for
    continuity: lower|Upper -> lower (Bundes-Agentur -> Bundesagentur), Upper|lower -> upper
    (E-mail -> EMail); otherwise the hyphen is just dropped (§2.2 step 5). "Lower" / "upper" as in
    the official `corrupt_text`: c.lower() == c / c.upper() == c (so a digit counts as both)."""
    out = []
    i, n = 0, len(hyphenated)
    while i < n:
        c = hyphenated[i]
        if c == "-" and 0 < i < n - 1:
            before, after = hyphenated[i - 1], hyphenated[i + 1]
            if rng is None or rng.random() < p_case:
                if before.lower() == before and after.upper() == after:
                    after = after.lower()
                elif before.upper() == before and after.lower() == after:
                    after = after.upper()
            out.append(after)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


# -- minimal-edit-distance alignment (the paper's levenshtein_split) -----------------------------------
def _lev(a: str, b: str) -> int:
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def align_split(word: str, parts: list[str], max_parts: int = 5) -> str | None:
    """Surface segmentation of `word` whose slices best match the predicted constituents `parts`,
    the same answer as the official `levenshtein_split`: it searches per-constituent length offsets
    o_i (sum fixed to len(word) - sum len(c_i)) by increasing s = sum |o_i|, stops once s exceeds the
    best summed case-insensitive edit distance, keeps the last of the tied candidates, and gives None
    if that candidate has an empty slice. Since every candidate's distance is >= its s, that is the
    global minimum distance, ties broken by the largest s, then the lexicographically largest
    offsets; we enumerate cut points directly (polynomial, not the official exponential search).
    None too for more than max_parts parts."""
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return word
    if len(parts) > max_parts:
        return None
    n, lw = len(word), word.lower()
    lparts = [c.lower() for c in parts]
    best_key, best = None, None
    for cuts in itertools.combinations_with_replacement(range(n + 1), len(parts) - 1):
        edges = (0,) + cuts + (n,)
        offs = tuple(edges[i + 1] - edges[i] - len(parts[i]) for i in range(len(parts)))
        s = sum(abs(o) for o in offs)
        if s >= n and s > 0:
            continue  # the official search stops before level len(word)
        dist = sum(_lev(lw[edges[i]:edges[i + 1]], lparts[i]) for i in range(len(parts)))
        key = (dist, -s, tuple(-o for o in offs))
        if best_key is None or key < best_key:
            best_key, best = key, edges
    if best is None or any(best[i + 1] == best[i] for i in range(len(parts))):
        return None
    return "-".join(word[best[i]:best[i + 1]] for i in range(len(parts)))


def to_segmentation(word: str, output: str) -> str:
    """Surface segmentation implied by a model's output (normalized or segmented) for `word`."""
    out = output.strip()
    if "-" not in out:
        return word
    seg = align_split(word, out.split("-"))
    return word if seg is None else seg


# -- tokenizers ---------------------------------------------------------------------------------------
def token_boundaries(pieces: list[str]) -> set[int]:
    """Offsets in the word at which a token starts (pieces: the word's tokens as strings, markers
    such as '▁' / 'Ġ' already removed)."""
    out, pos = set(), 0
    for p in pieces:
        out.add(pos)
        pos += len(p)
    return out


def is_hard(segmentation: str, pieces: list[str]) -> bool:
    """A compound is hard for a tokenizer when some constituent boundary is not a token boundary
    (a token spans the boundary); easy otherwise (the paper's definition)."""
    tb = token_boundaries(pieces)
    return any(b not in tb for b in boundaries(segmentation))


def exact_match(pred: str, gold: str) -> bool:
    """The paper's metric: the full output string, case-sensitive."""
    return pred.strip() == gold
