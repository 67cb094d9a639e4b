"""moi: run evaluations and part (a)'s per-item results -> metrics (mean ± std over independent
runs, n = seeds) and tables; writes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

from . import plan

LABELS = {
    "sequence": "Sequence", "packing": "Packing", "balanced": "Balanced",
    "balanced_domain": "Balanced + domain prompts", "moi_nomask": "MoI, no mask",
    "moi_isolated": "MoI, isolated mask", "moi": "MoI (chunk mask)", "moi_v1": "MoI v1 (no mask)",
}
BASELINES = ("sequence", "packing", "balanced")


def _pts(x):
    return 100.0 * x


def _bootstrap(correct: list, n_boot: int = 2000, seed: int = 0) -> list:
    """95 % percentile bootstrap interval of an accuracy over items (points)."""
    a = np.asarray(correct, dtype=float)
    rng = np.random.default_rng(seed)
    m = a[rng.integers(0, len(a), size=(n_boot, len(a)))].mean(1)
    return [float(_pts(np.quantile(m, 0.025))), float(_pts(np.quantile(m, 0.975)))]


def _ms(vals):
    return mean_std(vals)


def _fmt(s):
    return f"{s['mean']:.1f} ± {s['std']:.1f}" if s["mean"] is not None else "–"


def aggregate(inputs: dict, p: dict) -> Results:
    runs = {}
    for f in inputs["evals"]:
        ev = read_json(f)
        runs.setdefault(ev["strategy"], {})[ev["seed"]] = ev
    strategies = [s for s in p["strategies"] if s in runs]
    seeds = sorted(set.intersection(*[set(runs[s]) for s in strategies]))
    domains = list(plan.DOMAINS)

    def per_seed(s, which, dom=None):
        """Points per seed: one domain, or the macro-average (dom None)."""
        out = []
        for sd in seeds:
            r = runs[s][sd][which]
            out.append(_pts(r[dom]) if dom else _pts(np.mean([r[d] for d in domains])))
        return out

    strat = {}
    for s in strategies:
        strat[s] = {
            "default": {d: _ms(per_seed(s, "default", d)) for d in domains} | {"avg": _ms(per_seed(s, "default"))},
            "domain": {d: _ms(per_seed(s, "domain", d)) for d in domains} | {"avg": _ms(per_seed(s, "domain"))},
            "untrained": {"avg": _ms(per_seed(s, "untrained"))},
            "gap": _ms([a - b for a, b in zip(per_seed(s, "domain"), per_seed(s, "default"))]),
        }
    # learning curves (mean over seeds, points)
    curves = []
    for s in strategies:
        steps = [c["step"] for c in runs[s][seeds[0]]["curve"]]
        for k, st in enumerate(steps):
            row = {"strategy": s, "step": st}
            for d in domains:
                row[d] = float(np.mean([_pts(runs[s][sd]["curve"][k][d]) for sd in seeds]))
            row["avg"] = float(np.mean([row[d] for d in domains]))
            curves.append(row)

    # part (a)
    sens = {}
    for f in inputs["sensitivity"]:
        r = read_json(f)
        d = r["domain"]
        e = {}
        for name, v in r["prompts"].items():
            e[name] = {"system": v["system"], "acc": _pts(float(np.mean(v["correct"]))), "ci95_items": _bootstrap(v["correct"]), "n_items": len(v["correct"])}
        diff = [a - b for a, b in zip(r["prompts"]["domain"]["correct"], r["prompts"]["default"]["correct"])]
        e["gain"] = {"points": _pts(float(np.mean(diff))), "ci95_items": _bootstrap(diff)}
        dl = [a - b for a, b in zip(r["prompts"]["domain"]["ref_logprob"], r["prompts"]["default"]["ref_logprob"])]
        e["ref_logprob_gain"] = {"nats": float(np.mean(dl)), "ci95_items": [x / 100.0 for x in _bootstrap(dl)],
                                 "items_higher": int(sum(x > 0 for x in dl))}
        e["examples"] = r["examples"]
        sens[d] = e

    ci = {}
    paired = lambda a, b, dom=None, which="default": [x - y for x, y in zip(per_seed(a, which, dom), per_seed(b, which, dom))]  # noqa: E731
    have = set(strategies)
    ci["trained_minus_untrained_min"] = _ms([min(_pts(np.mean([runs[s][sd]["default"][d] for d in domains])) - _pts(np.mean([runs[s][sd]["untrained"][d] for d in domains]))
                                                 for s in strategies) for sd in seeds])
    if {"moi", "balanced"} <= have:
        ci["moi_minus_balanced_avg"] = _ms(paired("moi", "balanced"))
    if {"moi"} | set(BASELINES) <= have:
        ci["moi_minus_best_baseline_avg"] = _ms([per_seed("moi", "default")[k] - max(per_seed(b, "default")[k] for b in BASELINES) for k in range(len(seeds))])
    if "code" in sens:
        c = sens["code"]
        ci["smollm2_code_prompt_gain"] = {"mean": c["gain"]["points"], "std": None, "n": c["domain"]["n_items"], "runs": 1}
    if "balanced_domain" in have:
        ci["balanced_domain_prompt_gap"] = strat["balanced_domain"]["gap"]
    if {"balanced_domain", "moi_nomask"} <= have:
        g = lambda s: [a - b for a, b in zip(per_seed(s, "domain"), per_seed(s, "default"))]  # noqa: E731
        ci["default_first_gap_reduction"] = _ms([a - b for a, b in zip(g("balanced_domain"), g("moi_nomask"))])
    if {"moi", "moi_nomask"} <= have:
        ci["chunk_minus_nomask_tool"] = _ms(paired("moi", "moi_nomask", "tool"))
    if {"moi", "moi_isolated"} <= have:
        ci["chunk_minus_isolated_tool"] = _ms(paired("moi", "moi_isolated", "tool"))
    if {"balanced", "packing"} <= have:
        small = lambda s: [(a + b) / 2 for a, b in zip(per_seed(s, "default", "code"), per_seed(s, "default", "tool"))]  # noqa: E731
        ci["balanced_minus_packing_small"] = _ms([a - b for a, b in zip(small("balanced"), small("packing"))])

    metrics = {
        "units": "accuracy in points (exact match of the greedy answer, %); part (b): mean ± std over independent training runs (n = seeds); part (a): one pretrained model, 95 % bootstrap intervals over items",
        "seeds": seeds,
        "strategy_order": strategies,
        "strategies": strat,
        "curves": curves,
        "sensitivity": sens,
        "tokens_per_step": {s: runs[s][seeds[0]]["tokens_per_step"] for s in strategies},
        "claims_inputs": ci,
    }

    cols = domains + ["avg"]
    n = len(seeds)
    rows = [{"strategy": LABELS[s], **{c: _fmt(strat[s]["default"][c]) for c in cols}} for s in strategies]
    rows.append({"strategy": "untrained (step 0)", **{c: _fmt(_ms([_pts(np.mean([runs[strategies[0]][sd]["untrained"][d] for d in (domains if c == "avg" else [c])])) for sd in seeds])) for c in cols}})
    t2 = Table(pd.DataFrame(rows), title="moi (Table 2 analogue): exact match (%) under the default system prompt, per domain and macro-average",
               note=f"mean ± std over {n} independent training runs (seeds) per strategy; tiny Llama trained from scratch on generated domains (not the paper's benchmarks).")
    mrows = [{"mask": m, "strategy": LABELS[s], **{c: _fmt(strat[s]["default"][c]) for c in cols}}
             for m, s in (("no mask (full causal)", "moi_nomask"), ("isolated (per instruction)", "moi_isolated"), ("chunk (per 4 instructions)", "moi")) if s in strat]
    t8 = Table(pd.DataFrame(mrows), title="moi (Table 8 analogue): attention mask of MoI, exact match (%) under the default prompt",
               note=f"mean ± std over {n} seeds; 'tool' is the T-Eval analogue.")
    prow = []
    for d, e in sens.items():
        prow.append({"domain": d, "default prompt": f"{e['default']['acc']:.1f} [{e['default']['ci95_items'][0]:.1f}, {e['default']['ci95_items'][1]:.1f}]",
                     "domain prompt": f"{e['domain']['acc']:.1f} [{e['domain']['ci95_items'][0]:.1f}, {e['domain']['ci95_items'][1]:.1f}]",
                     "domain system prompt": e["domain"]["system"],
                     "gain": f"{e['gain']['points']:+.1f} [{e['gain']['ci95_items'][0]:+.1f}, {e['gain']['ci95_items'][1]:+.1f}]",
                     "ref. answer log-prob gain (nats)": f"{e['ref_logprob_gain']['nats']:+.3f} [{e['ref_logprob_gain']['ci95_items'][0]:+.3f}, {e['ref_logprob_gain']['ci95_items'][1]:+.3f}]",
                     "items with higher log-prob": f"{e['ref_logprob_gain']['items_higher']}/{e['default']['n_items']}",
                     "items": e["default"]["n_items"]})
    t3 = Table(pd.DataFrame(prow), title="moi (Table 3 analogue): SmolLM2-135M-Instruct accuracy (%) under the default vs the domain system prompt",
               note="one pretrained model (n = 1 independent run): the brackets are 95 % bootstrap intervals over items, not over runs. Log-prob gain: mean over items of log p(reference answer | domain prompt) − log p(reference answer | default prompt).")
    grow = [{"strategy": LABELS[s], "default prompt avg": _fmt(strat[s]["default"]["avg"]), "domain prompt avg": _fmt(strat[s]["domain"]["avg"]),
             "gap (domain − default)": _fmt(strat[s]["gap"])} for s in strategies]
    tg = Table(pd.DataFrame(grow), title="moi: the prompt-overfitting gap, macro-average exact match (%) under the domain prompt minus under the default prompt",
               note=f"mean ± std over {n} seeds. Strategies trained under the default prompt only have no domain prompt in training.")
    tc = Table(pd.DataFrame(curves), title="moi: default-prompt exact match (%) vs training step, mean over seeds", floatfmt=".1f")
    return Results(metrics, {"strategies": t2, "prompts": t3, "masks": t8, "prompt_gap": tg, "curves": tc})
