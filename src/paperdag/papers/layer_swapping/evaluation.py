"""layer_swapping's evaluation jobs (kept apart from stages.py so that editing the evaluation never
reruns the experts' fine-tuning): the base model once, and per run every merge of the run's experts."""

from __future__ import annotations

from paperdag.core.io import load_tensors, read_json, write_json

from . import plan
from .lm import put_state as _put
from .lm import state_of as _state


def load(ctx):
    from .lm import load_model

    return load_model(ctx.params["model"], ctx.input.get("lm") if ctx.params["model"]["source"] == "random" else None)


def _evaluate(model, tok, d: dict, e: dict, sets=("de", "en", "val")) -> dict:
    """Exact match, share of German answers and three example outputs on the chosen problem sets
    (de: German test, en: their English renderings, val: German validation; the first
    eval.n_test / eval.n_val problems), and the German NLL."""
    from .lm import extract_answer, generate, is_german, nll

    out = {}
    test, val = d["test"][: e["n_test"]], d["val"][: e["n_val"]]
    all_sets = {"de": ("q_tgt", test), "en": ("q_en", test), "val": ("q_tgt", val)}
    for name in sets:
        key, items = all_sets[name]
        gens = generate(model, tok, [it[key] for it in items], e["max_new"], e["batch"])
        preds = [extract_answer(g) for g in gens]
        out[f"acc_{name}"] = 100.0 * sum(pr == it["answer"] for pr, it in zip(preds, items)) / len(items)
        out[f"german_{name}"] = 100.0 * sum(is_german(g) for g in gens) / len(items)
        out[f"examples_{name}"] = gens[:3]
    out["nll_de"] = nll(model, tok, d["nll_de"], e["nll_max_len"], e["nll_batch"])
    return out


def evaluate_base(ctx):
    """The base model (shared by every run) on the same sets."""
    import torch

    torch.use_deterministic_algorithms(True)
    model, tok = load(ctx)
    res = _evaluate(model, tok, read_json(ctx.input.data), ctx.params["eval"])
    write_json(ctx.output.evals, res)


def evaluate(ctx):
    """One run: build every merge from the run's experts and evaluate it with the experts and
    (where trained) the joint-SFT model; the experts' change profiles against the base."""
    import torch

    from . import merge as mg

    p, m, e = ctx.params, ctx.params["merge"], ctx.params["eval"]
    torch.use_deterministic_algorithms(True)
    d = read_json(ctx.input.data)
    model, tok = load(ctx)
    base = _state(model)
    experts = {"math": load_tensors(ctx.input.math), "lang": load_tensors(ctx.input.lang)}
    if "joint" in ctx.input.keys():
        experts["joint"] = load_tensors(ctx.input.joint)
    profiles = {k: mg.change_profile(base, sd) for k, sd in experts.items()}
    # merges are built one at a time (each is a full copy of the weights) and dropped after evaluation
    mm, ml = experts["math"], experts["lang"]
    models = {"math_expert": lambda: mm, "language_expert": lambda: ml}
    if "joint" in experts:
        models["joint_sft"] = lambda: experts["joint"]
    models["soup"] = lambda: mg.soup([mm, ml], [m["soup_weight"], 1 - m["soup_weight"]])
    models["ties"] = lambda: mg.ties(base, [mm, ml], m["ties"]["density"], m["ties"]["lam"])
    provenance, provenance_ok = {}, None
    b, u, tz = m["default"]
    default = plan.config_name(b, u, tz)
    grid = {plan.config_name(*c) for c in m["configs"]}
    for name, (bb, uu, tt, nl) in plan.swap_variants(p).items():
        models[name] = lambda bb=bb, uu=uu, tt=tt, nl=nl: mg.layer_swap(mm, ml, bb, uu, tt, tt, nl, m["alpha"])
    results = {}
    for name, make in models.items():
        sd = make()
        if isinstance(sd, tuple):
            sd, prov = sd
            provenance[name] = {s: sum(v == s for v in prov.values()) for s in mg.SOURCES}
            if name == default:
                provenance_ok = mg.verify_provenance(sd, mm, ml, b, u, tz, tz, m["non_layer"], m["alpha"])
        _put(model, sd)
        del sd
        # grid: German validation (selection) + German test; ablations: German test; baselines: German + English test
        sets = ("de", "val") if name in grid else ("de",) if name.startswith("swap") else ("de", "en")
        results[name] = _evaluate(model, tok, d, e, sets)
        ctx.log.info("%s: de %.1f en %s val %s nll %.3f", name, results[name]["acc_de"], results[name].get("acc_en"),
                     results[name].get("acc_val"), results[name]["nll_de"])
    # English only for the configuration chosen on validation (ties: the first in config order; budget)
    names = list(models)
    chosen = max([c for c in names if c in grid], key=lambda c: (results[c]["acc_val"], -names.index(c)))
    sd, _ = models[chosen]()
    _put(model, sd)
    results[chosen].update({k: v for k, v in _evaluate(model, tok, d, e, ("en",)).items() if k != "nll_de"})
    ctx.log.info("chosen on validation: %s, en %.1f", chosen, results[chosen]["acc_en"])
    write_json(ctx.output.evals, {"run": int(ctx.wildcards["run"]), "chosen": chosen, "models": results, "profiles": profiles,
                                  "provenance": provenance, "provenance_ok": provenance_ok})
