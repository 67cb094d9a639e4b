"""layer_swapping's stages: data -> one fine-tuning job per (expert, run) -> the base model's
evaluation (once) and one merge + evaluation job per run (layer swaps, soup, TIES, the experts,
joint SFT where trained) -> metrics (aggregate.py)."""

from __future__ import annotations

from paperdag.core.io import load_tensors, read_json, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


def _data(ctx) -> dict:
    return read_json(ctx.input.data)


def _load(ctx):
    from .lm import load_model

    return load_model(ctx.params["model"], ctx.input.get("lm") if ctx.params["model"]["source"] == "random" else None)


def _state(model) -> dict:
    """The model's parameters without the tied LM head (it is the token embedding)."""
    sd = model.state_dict()
    if getattr(model.config, "tie_word_embeddings", False):
        sd.pop("lm_head.weight", None)
    return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def _put(model, sd: dict) -> None:
    missing, unexpected = model.load_state_dict(sd, strict=False)
    bad = [k for k in missing if k != "lm_head.weight"] + list(unexpected)
    if bad:
        raise RuntimeError(f"state dict does not fit the model: {bad[:5]}")
    if getattr(model.config, "tie_word_embeddings", False):
        model.tie_weights()


@stage("layer_swapping.data")
def data(ctx):
    """The generated SFT sets, the MGSM analogue (German + English), validation and NLL text."""
    from . import data as gen

    d = ctx.params["data"]
    out = gen.build(d, ctx.params["seed"]) if d["source"] == "generated" else gen.build_hub(d)
    ctx.log.info("math_sft %d, lang_sft %d, test %d, val %d, nll %d", *(len(out[k]) for k in ("math_sft", "lang_sft", "test", "val", "nll_de")))
    write_json(ctx.output.data, out)


@stage("layer_swapping.train")
def train(ctx):
    """One expert (math | lang | joint) of one independent run, fine-tuned from the base."""
    import torch

    from paperdag.core.resume import Resumer

    from .lm import encode_sft, sft

    p, t = ctx.params, ctx.params["train"]
    expert, run = ctx.wildcards["expert"], int(ctx.wildcards["run"])
    seed = plan.expert_seed(p, expert, run)
    d = _data(ctx)
    examples = {"math": d["math_sft"], "lang": d["lang_sft"], "joint": d["math_sft"] + d["lang_sft"]}[expert]
    seed_everything(seed)
    torch.use_deterministic_algorithms(True)
    model, tok = _load(ctx)
    enc = encode_sft(tok, examples, t["max_len"])
    steps = t["joint_steps"] if expert == "joint" else t["steps"]
    res = Resumer(ctx.resume_dir(), f"{expert}-run{run}", every=t["resume_every"])
    losses = sft(model, tok, enc, {**t, "steps": steps}, seed, resumer=res, log=ctx.log)
    save_tensors(ctx.output.model, _state(model), {"expert": expert, "run": run, "seed": seed, "steps": steps,
                                                   "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None})
    res.finish()


def _evaluate(model, tok, d: dict, e: dict, with_val: bool) -> dict:
    from .lm import extract_answer, generate, is_german, nll

    out = {}
    sets = [("de", "q_tgt", d["test"]), ("en", "q_en", d["test"])] + ([("val", "q_tgt", d["val"])] if with_val else [])
    for name, key, items in sets:
        gens = generate(model, tok, [it[key] for it in items], e["max_new"], e["batch"])
        preds = [extract_answer(g) for g in gens]
        out[f"acc_{name}"] = 100.0 * sum(pr == it["answer"] for pr, it in zip(preds, items)) / len(items)
        out[f"german_{name}"] = 100.0 * sum(is_german(g) for g in gens) / len(items)
        out[f"examples_{name}"] = gens[:3]
    out["nll_de"] = nll(model, tok, d["nll_de"], e["nll_max_len"], e["nll_batch"])
    return out


@stage("layer_swapping.evaluate_base")
def evaluate_base(ctx):
    """The base model (shared by every run) on the same sets."""
    import torch

    torch.use_deterministic_algorithms(True)
    model, tok = _load(ctx)
    res = _evaluate(model, tok, _data(ctx), ctx.params["eval"], with_val=True)
    write_json(ctx.output.evals, res)


@stage("layer_swapping.evaluate")
def evaluate(ctx):
    """One run: build every merge from the run's experts and evaluate it with the experts and
    (where trained) the joint-SFT model; the experts' change profiles against the base."""
    import torch

    from . import merge as mg

    p, m, e = ctx.params, ctx.params["merge"], ctx.params["eval"]
    torch.use_deterministic_algorithms(True)
    d = _data(ctx)
    model, tok = _load(ctx)
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
        results[name] = _evaluate(model, tok, d, e, with_val=name.startswith("swap"))
        ctx.log.info("%s: de %.1f en %.1f val %s nll %.3f", name, results[name]["acc_de"], results[name]["acc_en"],
                     results[name].get("acc_val"), results[name]["nll_de"])
    write_json(ctx.output.evals, res)


@stage("layer_swapping.evaluate")
def evaluate(ctx):
    """One run: build every merge from the run's experts and evaluate it with the experts and
    (where trained) the joint-SFT model; the experts' change profiles against the base."""
    import torch

    from . import merge as mg

    p, m, e = ctx.params, ctx.params["merge"], ctx.params["eval"]
    torch.use_deterministic_algorithms(True)
    d = _data(ctx)
    model, tok = _load(ctx)
    base = _state(model)
    experts = {"math": load_tensors(ctx.input.math), "lang": load_tensors(ctx.input.lang)}
    if "joint" in ctx.input.keys():
        experts["joint"] = load_tensors(ctx.input.joint)
    profiles = {k: mg.change_profile(base, sd) for k, sd in experts.items()}
    models = {"math_expert": experts["math"], "language_expert": experts["lang"]}
    if "joint" in experts:
        models["joint_sft"] = experts["joint"]
    models["soup"] = mg.soup([experts["math"], experts["lang"]], [m["soup_weight"], 1 - m["soup_weight"]])
    models["ties"] = mg.ties(base, [experts["math"], experts["lang"]], m["ties"]["density"], m["ties"]["lam"])
    provenance = {}
    for name, (b, u, tz, nl) in plan.swap_variants(p).items():
        models[name], prov = mg.layer_swap(experts["math"], experts["lang"], b, u, tz, tz, nl, m["alpha"])
        provenance[name] = {s: sum(v == s for v in prov.values()) for s in mg.SOURCES}
    b, u, tz = m["default"]
    default = plan.config_name(b, u, tz)
    provenance_ok = mg.verify_provenance(models[default], experts["math"], experts["lang"], b, u, tz, tz, m["non_layer"], m["alpha"])
    results = {}
    for name, sd in models.items():
        _put(model, sd)
        results[name] = _evaluate(model, tok, d, e, with_val=name.startswith("swap"))
        ctx.log.info("%s: de %.1f en %.1f val %s nll %.3f", name, results[name]["acc_de"], results[name]["acc_en"],
                     results[name].get("acc_val"), results[name]["nll_de"])
    write_json(ctx.output.evals, {"run": int(ctx.wildcards["run"]), "models": results, "profiles": profiles, "provenance": provenance,
                                   "provenance_ok": provenance_ok})
