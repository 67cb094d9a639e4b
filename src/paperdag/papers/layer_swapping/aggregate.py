"""layer_swapping: evaluations -> metrics (mean ± std over independent expert pairs) and tables;
writes nothing. The layer-swap configuration is chosen per run on the German validation problems
(ties: the first configuration in config order) and reported on the test problems."""

from __future__ import annotations

import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

from .plan import config_name, swap_variants

ROWS = [("base", "base model"), ("math_expert", "math expert"), ("language_expert", "language expert"), ("soup", "model soup (0.5/0.5)"),
        ("ties", "TIES"), ("joint_sft", "joint SFT"), ("swap_best", "layer swap (best on validation)"), ("swap_mean", "layer swap (mean over configurations)")]
FIELDS = ("acc_de", "acc_en", "nll_de", "german_de")


def _fmt(s: dict, digits: int = 1) -> str:
    if s["mean"] is None:
        return "–"
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f} ({s['n']})"


def aggregate(inputs: dict, p: dict) -> Results:
    base = read_json(inputs["base"])
    evals = [read_json(f) for f in inputs["evals"]]
    configs = [config_name(*c) for c in p["merge"]["configs"]]
    b, u, t = p["merge"]["default"]
    per = {k: {f: [] for f in FIELDS} for k, _ in ROWS}
    chosen, ci = [], {k: [] for k in ("math_minus_base_acc_en", "base_minus_lang_nll_de", "outer_share_lang_minus_math",
                                     "middle_share_math_minus_uniform", "swap_best_minus_best_expert_de", "swap_best_minus_soup_de",
                                     "swap_mean_minus_best_expert_de", "swap_best_minus_math_acc_en", "transition_minus_none_de")}
    prov_ok, profiles = [], {"math": [], "lang": []}
    a = p["analysis"]
    for ev in evals:
        mods = ev["models"]
        best = ev["chosen"]  # chosen on German validation inside the job (the only grid entry with English)
        chosen.append(best)
        mods = {**mods, "base": base, "swap_best": mods[best],
                "swap_mean": {f: (sum(mods[c][f] for c in configs) / len(configs) if all(f in mods[c] for c in configs) else None)
                              for f in FIELDS}}
        for k, _ in ROWS:
            if k in mods:
                for f in FIELDS:
                    per[k][f].append(mods[k].get(f))
        sm, sl = ev["profiles"]["math"]["layer_share"], ev["profiles"]["lang"]["layer_share"]
        n = len(sm)
        outer = lambda s: sum(s[: a["outer_bottom"]]) + sum(s[n - a["outer_top"]:])  # noqa: E731
        best_expert_de = max(mods["math_expert"]["acc_de"], mods["language_expert"]["acc_de"])
        ci["math_minus_base_acc_en"].append(mods["math_expert"]["acc_en"] - base["acc_en"])
        ci["base_minus_lang_nll_de"].append(base["nll_de"] - mods["language_expert"]["nll_de"])
        ci["outer_share_lang_minus_math"].append(100 * (outer(sl) - outer(sm)))
        ci["middle_share_math_minus_uniform"].append(100 * ((1 - outer(sm)) - (n - a["outer_bottom"] - a["outer_top"]) / n))
        ci["swap_best_minus_best_expert_de"].append(mods["swap_best"]["acc_de"] - best_expert_de)
        ci["swap_best_minus_soup_de"].append(mods["swap_best"]["acc_de"] - mods["soup"]["acc_de"])
        ci["swap_mean_minus_best_expert_de"].append(mods["swap_mean"]["acc_de"] - best_expert_de)
        ci["swap_best_minus_math_acc_en"].append(mods["swap_best"]["acc_en"] - mods["math_expert"]["acc_en"])
        ci["transition_minus_none_de"].append(mods[config_name(b, u, t)]["acc_de"] - mods[config_name(b, u, 0)]["acc_de"])
        prov_ok.append(bool(ev["provenance_ok"]))
        for e in ("math", "lang"):
            profiles[e].append(ev["profiles"][e])
    n_runs = len(evals)
    stats = {k: {f: mean_std(v) for f, v in per[k].items()} for k, _ in ROWS}
    stats["base"] = {f: {"mean": base[f], "std": 0.0, "n": 1} for f in FIELDS}  # one base model, no training
    variants = swap_variants({"merge": p["merge"]})
    var_stats = {name: {f: mean_std([ev["models"][name].get(f) for ev in evals]) for f in FIELDS + ("acc_val",)} for name in variants}

    def mean_profile(e):
        ps = profiles[e]
        return {"types": ps[0]["types"],
                "rel": [[sum(pp["rel"][i][j] for pp in ps) / len(ps) for j in range(len(ps[0]["types"]))] for i in range(len(ps[0]["rel"]))],
                "layer_share": [sum(pp["layer_share"][i] for pp in ps) / len(ps) for i in range(len(ps[0]["layer_share"]))]}

    claims_inputs = {k: mean_std(v) for k, v in ci.items()}
    claims_inputs["provenance_ok"] = {"mean": float(all(prov_ok)), "std": 0.0, "n": n_runs}
    metrics = {
        "units": "accuracy: % of problems whose final integer is right (exact match); nll_de: nats/token on held-out German text; "
                 "german_de: % of answers to German problems detected as German; mean ± std over independent expert pairs (n)",
        "n_runs": n_runs,
        "models": stats,
        "variants": var_stats,
        "variants_spec": {k: list(v) for k, v in variants.items()},
        "configurations": configs,
        "chosen_on_validation": chosen,
        "profiles": {e: mean_profile(e) for e in profiles},
        "examples": {k: {"de": evals[0]["models"][k]["examples_de"], "en": evals[0]["models"][k]["examples_en"]}
                     for k in ("math_expert", "language_expert", chosen[0])} | {"base": {"de": base["examples_de"], "en": base["examples_en"]}},
        "claims_inputs": claims_inputs,
    }
    rows = []
    for k, label in ROWS:
        s = stats[k]
        if s["acc_de"]["n"] == 0:
            continue
        avg = mean_std([(x + y) / 2 if None not in (x, y) else None for x, y in zip(per[k]["acc_de"], per[k]["acc_en"])]) if k != "base" else {
            "mean": (base["acc_de"] + base["acc_en"]) / 2, "std": 0.0, "n": 1}
        rows.append({"model": label, "German (MGSM-de analogue)": _fmt(s["acc_de"]), "English (control)": _fmt(s["acc_en"]),
                     "average": _fmt(avg), "German NLL (nats/token)": _fmt(s["nll_de"], 3), "German answers (%)": _fmt(s["german_de"])})
    main = Table(pd.DataFrame(rows), title="layer_swapping: German and English math (exact match, %), German NLL, share of German answers",
                 note=f"mean ± std (n independent expert pairs); base: one model. Configuration chosen on German validation problems per run: "
                      f"{', '.join(chosen)}. Joint SFT: {stats['joint_sft']['acc_de']['n']} run(s) (budget).")
    crow = []
    for name, (bb, uu, tt, nl) in variants.items():
        v = var_stats[name]
        crow.append({"variant": name, "b": bb, "u": uu, "t": tt, "non-layer params": nl, "in the grid": name in configs,
                     "German validation": _fmt(v["acc_val"]), "German test": _fmt(v["acc_de"]), "English test": _fmt(v["acc_en"]),
                     "German NLL": _fmt(v["nll_de"], 3), "chosen (runs)": chosen.count(name)})
    conf = Table(pd.DataFrame(crow), title="layer_swapping: layer-swap configurations and ablations",
                 note="b / u: bottom / top layers from the language expert, t: transition layers averaged on each side; "
                      "'in the grid': the configurations whose best (on validation) and mean are reported.")
    return Results(metrics, {"main": main, "configurations": conf})
