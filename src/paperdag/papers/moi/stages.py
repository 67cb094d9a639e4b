"""moi's stages: data (part b's generated SFT domains, or the paper's sets by hub id), train (one
job per strategy and seed: train + evaluate), sensitivity (part a: one job per domain, the shared
SmolLM2 chat model under the default and the domain system prompt)."""

from __future__ import annotations

from paperdag.core.io import read_json, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


@stage("moi.data")
def data(ctx):
    """Part (b)'s training and test items (tasks.generate), or at the paper scale the open SFT sets
    by hub id (or a save_to_disk folder), mapped to turns."""
    from . import hubdata, tasks

    p = ctx.params
    d = p["data"]
    if d["source"] == "generated":
        out = tasks.generate(d["sizes"], d["n_test"], d["cue_noise"], p["seed"])
    else:
        out = hubdata.load(d, p["seed"])
    out["counts"] = {k: {dm: len(v) for dm, v in out[k].items()} for k in ("train", "test")}
    ctx.log.info("items: %s", out["counts"])
    write_json(ctx.output.data, out)


@stage("moi.train")
def train(ctx):
    """One strategy, one seed (run r uses seed + r): train, evaluate during training (the learning
    curve; step 0 = the untrained control) and at the end under the default and the domain prompt."""
    import torch

    from . import train as tr

    p = ctx.params
    seed = plan.run_seed(p, ctx.wildcards["run"])
    seed_everything(seed)
    torch.use_deterministic_algorithms(True)
    data = read_json(ctx.input.data)
    model, out, res = tr.run(p, ctx.wildcards["strategy"], seed, data, ctx.resume_dir(), ctx.log, ctx.input.get("lm"))
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if v.requires_grad or p["model"]["source"] == "scratch"}
    save_tensors(ctx.output.model, sd, {"strategy": ctx.wildcards["strategy"], "seed": seed})
    write_json(ctx.output.evals, out)
    res.finish()


@stage("moi.sensitivity")
def sensitivity(ctx):
    """Part (a), one domain: generated items answered greedily by the chat model under the default
    and under the domain system prompt; per-item correctness (checkers in sensitivity.py) and the
    log-probability of the reference answer."""
    import torch

    from paperdag.core.lm import load_causal_lm

    from . import sensitivity as S

    p = ctx.params["sensitivity"]
    dom = ctx.wildcards["domain"]
    torch.manual_seed(0)
    lm = p["lm"]
    if lm["source"] == "random":  # smoke: a tiny random Llama with the asset's tokenizer
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(ctx.input.lm)
        model, _ = load_causal_lm({"source": "random", "arch": "llama", "config": dict(lm["config"], vocab_size=len(tok)), "seed": 0})
    elif lm["source"] == "local":
        model, tok = load_causal_lm(ctx.input.lm)
    else:
        model, tok = load_causal_lm({"source": "hub", "id": lm["id"]})
    items = S.make_items(p["n_items"], ctx.params["seed"])[dom]
    out = {"domain": dom, "n": len(items), "prompts": {}, "examples": {}}
    for name, sysp in (("default", S.DEFAULT), ("domain", S.DOMAIN_PROMPTS[dom])):
        prompts = [S.chat_prompt(tok, sysp, it["question"]) + S.answer_prefix_ids(tok, dom) for it in items]
        outs = S.generate(model, tok, prompts, p["max_new"][dom], p["batch"])
        texts = [S.ANSWER_PREFIX[dom] + o for o in outs]
        logp = S.reference_logprob(model, tok, prompts, [S.reference_continuation(it) for it in items], p["batch"])
        out["prompts"][name] = {"system": sysp, "correct": [int(S.check(it, t)) for it, t in zip(items, texts)],
                                "ref_logprob": [round(x, 4) for x in logp]}
        out["examples"][name] = texts[:3]
        ctx.log.info("%s / %s prompt: %d/%d correct", dom, name, sum(out["prompts"][name]["correct"]), len(items))
    write_json(ctx.output.result, out)
