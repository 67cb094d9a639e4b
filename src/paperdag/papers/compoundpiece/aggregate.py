"""compoundpiece: predictions -> metrics (exact-match accuracies; mean ± std over independent runs),
claims inputs and tables; writes nothing."""

from __future__ import annotations

import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

from . import lang as L
from . import scoring

METHOD_NAMES = {
    "identity": "Control: no split (identity)",
    "frequency": "Unsupervised: frequency splitter (SECOS stand-in)",
    "compound_split": "Language-specific: compound-split (de, nl)",
    "stage1": "ByT5-style, Stage 1 (self-supervised)",
    "stage2": "ByT5-style, Stage 2 only (supervised)",
    "stage12": "ByT5-style, Stage 1 + 2",
}
NOT_SHOWN = ("Not shown at this scale: the 56 Wiktionary languages (here de, nl, sv, da with gold "
             "compounds built from real word lists), mC4-scale Stage 1 (25M words), ByT5-base and beam "
             "search, the other backbones (T5, Flan-T5, mT5) and the extrinsic +5.5 % of CompoundPiece "
             "pre-training.")


def _pct(v):
    return None if v is None else round(100 * v, 2)


def _fmt(ms: dict) -> str:
    if ms["mean"] is None:
        return "–"
    if ms["n"] > 1:
        return f"{100 * ms['mean']:.1f} ± {100 * ms['std']:.1f}"
    return f"{100 * ms['mean']:.1f}"


def aggregate(inputs: dict, p: dict) -> Results:
    d = read_json(inputs["data"])
    langs = d["langs"]
    test, silver = d["test"], d["silver"]
    base = read_json(inputs["baselines"])
    cs_langs = [lg for lg in p["baselines"]["charsplit_langs"] if lg in langs]

    # scores of every method (models: one per run)
    valid = d["valid"]
    scores: dict[str, list[dict]] = {}
    silver_scores: dict[str, list[dict]] = {}
    valid_scores: dict[str, list[dict]] = {}  # the validation words: what pilots judge premises on
    for m in ("identity", "frequency", "compound_split"):
        rows = [r for r in test if m != "compound_split" or r["lang"] in cs_langs]
        srows = [r for r in silver if m != "compound_split" or r["lang"] in cs_langs]
        vrows = [r for r in valid if m != "compound_split" or r["lang"] in cs_langs]
        scores[m] = [scoring.score(rows, base[m])]
        silver_scores[m] = [scoring.score(srows, base[m])]
        valid_scores[m] = [scoring.score(vrows, base[m])]
    runs_meta = {}
    for path in inputs["models"]:
        ev = read_json(path)
        preds = scoring.model_preds(list(ev["outputs"]), list(ev["outputs"].values()))
        scores.setdefault(ev["variant"], []).append(scoring.score(test, preds))
        silver_scores.setdefault(ev["variant"], []).append(scoring.score(silver, preds))
        if all(r["word"] in ev["outputs"] for r in valid):
            valid_scores.setdefault(ev["variant"], []).append(scoring.score(valid, preds))
        runs_meta.setdefault(ev["variant"], []).append({"run": ev["run"], "seed": ev["seed"], "steps": ev.get("steps"),
                                                        "final_loss": ev["loss"][-1] if ev["loss"] else None,
                                                        "web_valid_acc": ev.get("web_valid_acc"),
                                                        "valid_curve": ev.get("valid_curve", [])})

    def macro_runs(method, task, cls="avg", lg=None, src=scores):
        return [scoring.macro(s, task, cls, lg) for s in src[method]]

    methods = [m for m in METHOD_NAMES if m in scores]
    summary = {}
    for m in methods:
        summary[m] = {f"{task}_{cls}": mean_std(macro_runs(m, task, cls, cs_langs if m == "compound_split" else None))
                      for task in ("seg", "norm") for cls in ("pos", "neg", "avg")}
        summary[m]["per_lang"] = {lg: {task: mean_std(macro_runs(m, task, "avg", [lg])) for task in ("seg", "norm")}
                                  for lg in (cs_langs if m == "compound_split" else langs)}
        summary[m]["silver_seg_pos"] = mean_std(macro_runs(m, "seg", "pos",
                                                           cs_langs if m == "compound_split" else None, silver_scores))

    # paired differences for the claims (one value per independent run)
    def diff(a, b, task, lg=None):
        va = macro_runs(a, task, "avg", lg)
        vb = macro_runs(b, task, "avg", lg)
        if len(vb) == 1:
            vb = vb * len(va)
        return [x - y for x, y in zip(va, vb)]

    # validation accuracies (mean ± std over runs): the numbers a pilot reads, never the test words
    valid_summary = {m: {f"{task}_avg": mean_std(macro_runs(m, task, "avg", cs_langs if m == "compound_split" else None,
                                                            valid_scores))
                         for task in ("seg", "norm")} for m in methods if valid_scores.get(m)}

    ci = {
        "stage1_minus_frequency_seg": mean_std(diff("stage1", "frequency", "seg")),
        "stage1_minus_identity_seg": mean_std(diff("stage1", "identity", "seg")),
        "stage12_minus_stage2_norm": mean_std(diff("stage12", "stage2", "norm")),
        "stage12_minus_identity_norm": mean_std(diff("stage12", "identity", "norm")),
        "stage2_minus_identity_norm": mean_std(diff("stage2", "identity", "norm")),
        "stage12_minus_stage1_norm": mean_std(diff("stage12", "stage1", "norm")),
        "stage12_minus_compound_split_seg": mean_std(diff("stage12", "compound_split", "seg", cs_langs)),
    }

    # tokenizers
    tok_runs = [read_json(x) for x in inputs["tokenizers"]]
    tok = {lg: {k: mean_std([t["langs"][lg][k] for t in tok_runs]) for k in
                ("spm_hard_rate", "compoundpiece_hard_rate", "presplit_share")} for lg in langs}
    ci["spm_minus_compoundpiece_hard_rate"] = mean_std(
        [sum(t["langs"][lg]["spm_hard_rate"] - t["langs"][lg]["compoundpiece_hard_rate"] for lg in langs) / len(langs)
         for t in tok_runs])

    # LLM easy vs hard
    llm = None
    if inputs["llm"]:
        lj = read_json(inputs["llm"][0])
        llm = {"per_lang": {}, "hard_share": lj["hard_share"], "demos": lj["demos"], "prompt": lj["prompt_example"]}
        for lg in p["llm"]["langs"]:
            row = {}
            for cls in ("easy", "hard"):
                ws = [w for w in lj["words"].values() if w["lang"] == lg and w["class"] == cls]
                row[cls] = {"n": len(ws),
                            "norm": sum(L.exact_match(w["output"], w["gold_norm"]) for w in ws) / max(1, len(ws)),
                            "seg": sum(L.exact_match(w["seg"], w["gold_seg"]) for w in ws) / max(1, len(ws))}
            llm["per_lang"][lg] = row
        ll = list(llm["per_lang"].values())
        easy = sum(r["easy"]["norm"] for r in ll) / len(ll)
        hard = sum(r["hard"]["norm"] for r in ll) / len(ll)
        llm["easy_norm"], llm["hard_norm"] = easy, hard
        # one pretrained model: one measurement (n = 1, never a replicate count of words)
        ci["llm_easy_minus_hard_norm"] = {"mean": easy - hard, "std": 0.0, "n": 1}
        ci["llm_hard_norm_acc"] = {"mean": hard, "std": 0.0, "n": 1}

    # checks on the data (true by construction)
    gold = [r for r in d["test"] + d["valid"] + d["train"] if r["pos"]]
    checks = {
        "gold_rejoins": sum(L.rejoin(r["seg"]) == r["word"] for r in gold) / max(1, len(gold)),
        "web_eval_overlap": len({r["input"].lower() for r in d["web_train"]}
                                & {r["word"].lower() for r in d["test"] + d["valid"] + d["silver"]}),
    }

    metrics = {
        "units": "exact-match accuracy (fraction); model rows: mean ± std over independent training runs (n); "
                 "averages are macro over languages",
        "langs": langs,
        "sizes": d["sizes"],
        "methods": summary,
        "valid": valid_summary,
        # the never-split control on the measure the training curves record (pooled exact match)
        "valid_identity_pooled_norm": sum(r["word"] == r["norm"] for r in valid) / max(1, len(valid)),
        "runs": runs_meta,
        "tokenizers": tok,
        "llm": llm,
        "checks": checks,
        "charsplit_threshold": base["charsplit_threshold"],
        "claims_inputs": {**ci, "gold_rejoins": checks["gold_rejoins"],
                          "web_eval_overlap": float(checks["web_eval_overlap"])},
    }

    # tables
    rows = []
    for m in methods:
        s = summary[m]
        rows.append({"method": METHOD_NAMES[m], "n": s["seg_avg"]["n"],
                     **{f"{task} {cls}": _fmt(s[f"{task}_{cls}"]) for task in ("seg", "norm") for cls in ("pos", "neg", "avg")}})
    main = Table(pd.DataFrame(rows), title="compoundpiece: decompounding accuracy (%), macro over "
                 + ", ".join(langs) + " (compound-split: de, nl)",
                 note="Exact match on test positives (compounds) and negatives (non-compounds); segmentation of "
                      "seq2seq outputs by edit-distance alignment to the surface. Model rows: mean ± std over n "
                      "independent training runs. " + NOT_SHOWN)
    prow = []
    for m in methods:
        r = {"method": METHOD_NAMES[m]}
        for lg in langs:
            pl = summary[m]["per_lang"].get(lg)
            r[f"{lg} seg"] = _fmt(pl["seg"]) if pl else "–"
            r[f"{lg} norm"] = _fmt(pl["norm"]) if pl else "–"
        prow.append(r)
    per_language = Table(pd.DataFrame(prow), title="compoundpiece: average accuracy (%) per language",
                         note="Average of positive and negative accuracy. " + NOT_SHOWN)
    trow = [{"language": lg, "SentencePiece hard %": _fmt(tok[lg]["spm_hard_rate"]),
             "CompoundPiece hard %": _fmt(tok[lg]["compoundpiece_hard_rate"]),
             "corpus words pre-split by Stage 1 %": _fmt(tok[lg]["presplit_share"])} for lg in langs]
    tokenizers = Table(pd.DataFrame(trow), title="compoundpiece: hard-compound rate of the tokenizers (%)",
                       note="Unigram SentencePiece trained on the same word multiset as whole words or as the "
                            f"constituents the run's Stage-1 model predicts; mean ± std over {len(tok_runs)} runs "
                            "(Stage-1 seeds). Hard: some constituent boundary is not a token boundary.")
    lrow = []
    if llm:
        for lg, r in llm["per_lang"].items():
            lrow.append({"language": lg, "easy n": r["easy"]["n"], "easy norm %": _pct(r["easy"]["norm"]),
                         "easy seg %": _pct(r["easy"]["seg"]), "hard n": r["hard"]["n"],
                         "hard norm %": _pct(r["hard"]["norm"]), "hard seg %": _pct(r["hard"]["seg"]),
                         "hard share of test compounds %": _pct(llm["hard_share"][lg])})
    llm_t = Table(pd.DataFrame(lrow or [{"language": "–"}]),
                  title="compoundpiece: SmolLM2-135M-Instruct few-shot on easy vs hard compounds",
                  note="Easy / hard by SmolLM2's own tokenizer (the word after a space, as in the prompt). One "
                       "pretrained model: a single measurement (n = 1); the paper's LLM scaling study is not shown."
                  if llm else "The LLM baseline is off at this scale.")
    srow = [{"method": METHOD_NAMES[m], "silver compounds seg %": _fmt(summary[m]["silver_seg_pos"])} for m in methods]
    silver_t = Table(pd.DataFrame(srow), title="compoundpiece: segmentation of real word-list compounds (silver)",
                     note="Real compounds of the Debian word lists that split one way only into two frequent "
                          "words (labels mined, not curated).")
    acc = Table(pd.DataFrame([{"method": m, "seg_avg": _pct(summary[m]["seg_avg"]["mean"]),
                               "norm_avg": _pct(summary[m]["norm_avg"]["mean"])} for m in methods]),
                title="compoundpiece: average accuracy (%) per method (means over runs)")
    return Results(metrics, {"accuracy": acc, "main": main, "per_language": per_language, "llm": llm_t, "tokenizers": tokenizers,
                             "silver": silver_t})
