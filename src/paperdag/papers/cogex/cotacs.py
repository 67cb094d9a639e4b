"""CoTACS (Algorithm 1) and its evaluation maths, on score matrices computed once:
`answers[c][i]` = the normalised answer the model emulated for candidate program c on item i,
`correct[c, i]` = exact match with the gold answer. Selection, majority voting (ties broken at
random with a seeded generator), the small-N_train variant and the Figure 2 subsampling
simulation all read these matrices; no generation happens here. Also: the output-dictionary
parser (malformed output -> None, a scored failure) and the 2-shot BM25 retrieval."""

from __future__ import annotations

import ast
import re
from collections import Counter

import numpy as np

from .tasks import normalize

ANSWER_RE = re.compile(r"""['"]answer['"]\s*:\s*(?:'([^']*)'|"([^"]*)"|(-?\d+))""")


def parse_output(text: str | None) -> str | None:
    """The normalised 'answer' of the emulated output dictionary in a continuation
    (`>>> call\\n### Output\\n{...}`), or None when there is none. `ast.literal_eval` first, then a
    regex for `'answer': value` (truncated or otherwise malformed dicts); never raises."""
    if not text:
        return None
    body = text.split("### Output", 1)[1] if "### Output" in text else text
    line = body.strip().split("\n", 1)[0].strip() if body.strip() else ""
    try:
        d = ast.literal_eval(line)
        if isinstance(d, dict) and "answer" in d:
            return normalize(d["answer"])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    m = ANSWER_RE.search(line)
    if m:
        return normalize(next(g for g in m.groups() if g is not None))
    return None


def parse_response(text: str | None) -> str | None:
    """A plain answer (the Alpaca-style model's response): its first line, normalised."""
    if text is None:
        return None
    s = text.strip().split("\n", 1)[0] if text.strip() else ""
    return normalize(s) if s else None


def program_of(continuation: str) -> str:
    """The `def ...` block of a sampled program (the instance-specific call is dropped)."""
    return continuation.split(">>>", 1)[0].rstrip() + "\n"


def plan_of(continuation: str) -> str:
    return continuation.split("### Output", 1)[0].rstrip() + "\n"


def correctness(answers: list[list], gold: list[str]) -> np.ndarray:
    return np.array([[a is not None and a == g for a, g in zip(row, gold)] for row in answers], dtype=float)


def select_top(correct_pool: np.ndarray, train_idx, dev_idx, k: int, alpha: float = 0.0) -> list[int]:
    """Top-k candidates by dev accuracy among those whose train accuracy is >= alpha (all when none
    qualifies); ties by candidate order (deterministic)."""
    train_acc = correct_pool[:, train_idx].mean(1) if len(train_idx) else np.ones(len(correct_pool))
    eligible = np.flatnonzero(train_acc >= alpha - 1e-12)
    if eligible.size == 0:
        eligible = np.arange(len(correct_pool))
    dev_acc = correct_pool[eligible][:, dev_idx].mean(1)
    order = np.argsort(-dev_acc, kind="stable")
    return [int(eligible[i]) for i in order[:k]]


def vote(rows: list[list], rng: np.random.Generator) -> list:
    """Majority answer per item over the given candidates' answers (None = no vote); ties broken
    uniformly at random with `rng`."""
    out = []
    for col in zip(*rows):
        c = Counter(a for a in col if a is not None)
        if not c:
            out.append(None)
            continue
        top = max(c.values())
        tied = sorted(a for a, n in c.items() if n == top)
        out.append(tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0])
    return out


def cotacs_accuracy(ans_test: list[list], gold_test: list[str], correct_pool: np.ndarray, train_idx, dev_idx,
                    k: int, alpha: float, seed: int) -> tuple[float, list[int]]:
    chosen = select_top(correct_pool, train_idx, dev_idx, k, alpha)
    if k == 1:
        preds = ans_test[chosen[0]]
    else:
        preds = vote([ans_test[c] for c in chosen], np.random.default_rng(seed))
    acc = float(np.mean([p is not None and p == g for p, g in zip(preds, gold_test)]))
    return acc, chosen


def simulate(correct_pool: np.ndarray, correct_test: np.ndarray, n_items: list[int], n_cands: list[int],
             trials: int, seed: int) -> dict:
    """Figure 2: for each (number of items, number of candidates), average over `trials` random draws
    of items and candidates the test accuracy of the candidate that scores best on the drawn items
    (ties at random)."""
    rng = np.random.default_rng(seed)
    test_acc = correct_test.mean(1)
    C, N = correct_pool.shape
    out = {}
    for nc in n_cands:
        if nc > C:
            continue
        row = []
        for ni in n_items:
            ni = min(ni, N)
            accs = []
            for _ in range(trials):
                cands = rng.choice(C, size=nc, replace=False)
                items = rng.choice(N, size=ni, replace=False)
                sc = correct_pool[np.ix_(cands, items)].mean(1)
                best = np.flatnonzero(sc == sc.max())
                accs.append(test_acc[cands[best[int(rng.integers(len(best)))]]])
            row.append(float(np.mean(accs)))
        out[str(nc)] = row
    return out


def bm25_shots(pool_inputs: list[str], queries: list[str], k: int = 2) -> list[list[int]]:
    """Indices of the k pool items most similar to each query under BM25 (rank-bm25's Okapi);
    ties by pool order. Tokens: lower-cased words, digits split (numbers share digits)."""
    from rank_bm25 import BM25Okapi

    tokz = lambda s: re.findall(r"[a-z]+|\d", str(s).lower())  # noqa: E731
    bm = BM25Okapi([tokz(x) for x in pool_inputs])
    out = []
    for q in queries:
        scores = np.asarray(bm.get_scores(tokz(q)))
        out.append([int(i) for i in np.argsort(-scores, kind="stable")[:k]])
    return out
