"""The paper's metric: exact-match accuracy of the full output (case-sensitive), separately on
positives (compounds) and negatives (non-compounds) and their average, for segmentation and for
normalization; macro averages over languages."""

from __future__ import annotations

from . import lang as L


def score(rows: list[dict], preds: dict[str, dict]) -> dict:
    """rows: gold words ({lang, word, seg, norm?, pos}); preds: word -> {"seg": ..., "norm": ...}
    (missing words count as wrong). Returns {lang: {task: {pos, neg, avg, n_pos, n_neg}}} for the
    tasks with gold labels (silver rows have no normalization)."""
    out: dict = {}
    for lang in sorted({r["lang"] for r in rows}):
        lr = [r for r in rows if r["lang"] == lang]
        out[lang] = {}
        for task in ("seg", "norm"):
            if any(task not in r for r in lr):
                continue
            res = {}
            for cls, want in (("pos", True), ("neg", False)):
                sub = [r for r in lr if r["pos"] == want]
                hits = [L.exact_match(preds.get(r["word"], {}).get(task, "\0"), r[task]) for r in sub]
                res[cls] = sum(hits) / len(hits) if hits else None
                res[f"n_{cls}"] = len(hits)
            vals = [res[c] for c in ("pos", "neg") if res[c] is not None]
            res["avg"] = sum(vals) / len(vals) if vals else None
            out[lang][task] = res
    return out


def macro(scores: dict, task: str, cls: str = "avg", langs: list[str] | None = None) -> float | None:
    vals = [scores[lg][task][cls] for lg in (langs or sorted(scores)) if lg in scores and task in scores[lg]
            and scores[lg][task][cls] is not None]
    return sum(vals) / len(vals) if vals else None


def model_preds(words: list[str], outputs: list[str]) -> dict[str, dict]:
    """A seq2seq model's outputs -> predictions: the output is the normalization; the segmentation
    is the output's parts aligned to the surface word (the paper's edit-distance alignment)."""
    return {w: {"norm": o, "seg": L.to_segmentation(w, o)} for w, o in zip(words, outputs)}
