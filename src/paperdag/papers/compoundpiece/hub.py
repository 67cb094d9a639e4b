"""The `paper` scale's data: the paper's Hugging Face dataset `benjamin/compoundpiece` (configs
`wiktionary`: word, norm, segmentation, lang; `web`: hyphenated Stage-1 words), or a local
`save_to_disk` stand-in of the same shape (a folder with `wiktionary/` and `web/` DatasetDicts)."""

from __future__ import annotations

import random
from pathlib import Path

from . import lang as L


def _load(src: str, config: str):
    import datasets

    local = Path(src) / config
    if local.exists():
        return datasets.load_from_disk(str(local))
    return datasets.load_dataset(src, config)


def build_from_hub(p: dict) -> dict:
    d = p["data"]
    rng = random.Random(p["seed"])
    wk = _load(d["hub_dataset"], "wiktionary")
    web = _load(d["hub_dataset"], "web")
    langs = [lg for lg in d["langs"]]
    out = {"langs": langs, "test": [], "valid": [], "train": [], "silver": [], "web_train": [], "web_valid": [],
           "corpus": {}, "fewshot": {}}

    def rows(split):
        for r in wk[split]:
            if r["lang"] in langs and r.get("segmentation") and len(r["word"].encode()) <= d["max_bytes"]:
                yield {"lang": r["lang"], "word": r["word"], "seg": r["segmentation"], "norm": r["norm"],
                       "pos": "-" in r["norm"]}

    train = list(rows("train"))
    out["test"] = list(rows("validation" if "validation" in wk else "valid"))
    rng.shuffle(train)
    n_val = max(1, int(0.05 * len(train)))
    out["valid"], out["train"] = train[:n_val], train[n_val:]
    eval_words = {r["word"].lower() for r in out["test"] + out["valid"]}
    wsplit = web["train"]
    tcol = "target" if "target" in wsplit.column_names else "word"
    for r in wsplit:
        if r["lang"] not in langs:
            continue
        tgt = r[tcol]
        inp = L.dehyphenate(tgt, rng, d["p_case_continuity"])
        leak = inp.lower() in eval_words
        dest = "web_valid" if leak or rng.random() < d["web_valid_frac"] else "web_train"
        out[dest].append({"lang": r["lang"], "input": inp, "target": tgt, **({"leak": leak} if dest == "web_valid" else {})})
    for lg in langs:
        counts: dict[str, int] = {}
        for r in out["web_train"]:
            if r["lang"] == lg:
                counts[r["input"]] = counts.get(r["input"], 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: d["n_corpus"]]
        out["corpus"][lg] = dict(sorted(top))
        out["fewshot"][lg] = [r for r in out["train"] if r["lang"] == lg][: d["n_fewshot_pool"]]
    out["sizes"] = {k: len(v) for k, v in out.items() if isinstance(v, list) and k != "langs"}
    return out
