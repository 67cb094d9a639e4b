"""cogex's stages: data (generator -> corpus in three formats, evaluation tasks, tokenizer) ->
train (one job per format x run) -> evaluate (one job per format x run: candidate programs, the
score matrix by batched emulation, end-to-end CoGEX, sandboxed execution of the candidates; or the
plain-answer model's zero-shot and 2-shot BM25 answers). CoTACS selection, voting and the Figure 2
simulation happen in aggregate.py on the stored matrices."""

from __future__ import annotations

from paperdag.core.io import load_tensors, read_json, save_tensors, write_json, write_text
from paperdag.core.stage import seed_everything, stage

from . import plan


@stage("cogex.data")
def data(ctx):
    """The fine-tuning corpus (code / plan / plain formats of the same items), the held-out
    evaluation tasks, and the tokenizer built on the corpus."""
    from . import tasks as T
    from .model import Tokenizer
    from .sandbox import preflight

    preflight()  # the generator check executes programs: stop now, with the reason, if the jail cannot start
    p, d = ctx.params, ctx.params["data"]
    items = T.corpus(d["n_per_family"], d["style_mix"], p["seed"]) if not d["hub_corpus"] else hub_corpus(d["hub_corpus"], p["seed"])
    evals = [T.eval_task(f, d["n_pool"], d["n_test"], p["seed"] + 1000 + i, d["pool_digits"], d["test_digits"],
                         d["eval_instruction"])
             for i, f in enumerate(d["tasks"])]
    # no evaluation input may occur in the corpus (held-out items, not only a held-out instruction)
    corpus_inputs = {it["prompt"].split("### Input\n", 1)[1] for it in items}
    for t in evals:
        for part in ("pool", "test"):
            t[part] = [x for x in t[part] if f"{x['input']}\n" not in corpus_inputs] or t[part]
    evals_doc = {"tasks": evals, "generator_check": generator_check(d["tasks"], d["n_check"], p["seed"] + 7)}
    tok = Tokenizer.build(it["prompt"] + it[f] for it in items for f in ("code", "plan", "nl"))
    write_json(ctx.output.corpus, {"items": items})
    write_json(ctx.output.tasks, evals_doc)
    write_text(ctx.output.tokenizer, tok.to_json())
    ctx.log.info("corpus %d items, vocab %d, tasks %s", len(items), len(tok.vocab), [t["family"] for t in evals])


def hub_corpus(source: str, seed: int) -> list[dict]:
    """The released CoGEX data (`mkhalifa/CoGEX`: instruction, input, code_prompt, code_output) by
    hub id, or a local `save_to_disk` folder, in our layout: the program's last line, when it is not
    part of the `def` block, becomes the `>>>` call; the plan format keeps the program's `#` comments
    (its plan steps); the plain answer is the output dictionary's 'answer'."""
    import ast
    import os

    import datasets
    import numpy as np

    from . import tasks as T

    ds = datasets.load_from_disk(source) if os.path.isdir(source) else datasets.load_dataset(source)
    if isinstance(ds, datasets.DatasetDict):
        ds = ds["train"]
    items = []
    for row in ds:
        lines = row["code_prompt"].rstrip().split("\n")
        if lines and lines[-1] and not lines[-1].startswith((" ", "\t", "def ", "#", ">>>")):
            lines[-1] = ">>> " + lines[-1]
        code = "\n".join(lines)
        steps = [ln.strip().lstrip("#").strip() for ln in lines if ln.strip().startswith("#")]
        out = str(row["code_output"]).strip()
        try:
            ans = ast.literal_eval(out).get("answer", out)
        except (ValueError, SyntaxError, AttributeError, TypeError, MemoryError, RecursionError):
            ans = out
        items.append({"family": "cogex", "style": "released", "prompt": T.prompt(row["instruction"], row["input"]),
                      "code": f"### Code\n{code}\n### Output\n{out}\n",
                      "plan": "### Plan\n" + "".join(f"{i}. {st}\n" for i, st in enumerate(steps, 1)) + f"### Output\n{out}\n",
                      "nl": T.nl_target(ans)})
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]


def generator_check(families, n_per_style: int, seed: int) -> dict:
    """Run generated programs for real (sandbox, hidden reference) and compare with the output
    dictionaries the generator states: the generator's ground truth, checked in every data job."""
    import ast

    import numpy as np

    from . import tasks as T
    from .sandbox import execute

    rng = np.random.default_rng(seed)
    jobs, want = [], []
    for fam in families:
        for style in T.STYLES:
            for _ in range(n_per_style):
                x = T.make_input(fam, rng)
                r = T.render_item(fam, x, style)
                jobs.append({"program": r["program"], "args": [x]})
                want.append(r["output_text"])
    res = execute(jobs)
    got = [T.serialize(ast.literal_eval(row[0]["value"])) if "value" in row[0] else None for row in res["results"]]
    ok = sum(g == w for g, w in zip(got, want))
    return {"programs": len(jobs), "match": ok, "match_percent": 100.0 * ok / max(1, len(jobs)), "status": res["status"]}


def _load(p, ctx, fmt=None, weights=None):
    """(model, tokenizer): the tiny from-scratch decoder, or at paper scale a hub model + LoRA."""
    import torch

    from .model import Tokenizer, build_model, load_paper_model

    m = p["model"]
    if m["kind"] == "hub":
        model, tok = load_paper_model(m["hub_id"], p["lora"], m.get("dtype", "float32"))
    else:
        tok = Tokenizer.from_json(open(ctx.input.tokenizer).read())
        model = build_model(len(tok.vocab), m, p["seed"])
    if weights is not None:
        sd = load_tensors(weights)
        missing, unexpected = model.load_state_dict(sd, strict=m["kind"] != "hub")
        if unexpected:
            raise RuntimeError(f"{weights}: unexpected keys {unexpected[:3]}")
    return model, tok, torch


def _pairs(items, fmt):
    return [(it["prompt"], it[fmt]) for it in items]


@stage("cogex.train")
def train(ctx):
    """One model: format `fmt` (code = CoGEX, plan = plain-language plans, nl = plain answers),
    run r (seed + r); loss on the completion only; lowest-validation-loss weights kept."""
    from paperdag.core.resume import Resumer

    from .model import encode_pairs, train as train_lm

    p, fmt = ctx.params, ctx.wildcards["fmt"]
    seed = plan.run_seed(p, ctx.wildcards["run"])
    seed_everything(seed)
    p = dict(p, seed=seed)
    model, tok, torch = _load(p, ctx)
    items = read_json(ctx.input.corpus)["items"]
    n_val = p["data"]["n_val"]
    bos = p["model"]["kind"] != "hub"
    tr, dropped = encode_pairs(tok, _pairs(items[n_val:], fmt), p["model"]["max_len"], bos)
    va, _ = encode_pairs(tok, _pairs(items[:n_val], fmt), p["model"]["max_len"], bos)
    ctx.log.info("%s run %s: %d train sequences (%d too long, dropped), %d val, %d params", fmt, ctx.wildcards["run"],
                 len(tr), dropped, len(va), sum(x.numel() for x in model.parameters()))
    t = dict(p["train"], steps=p["train"]["steps"][fmt])
    info = train_lm(model, tr, va, t, seed, tok.pad_id, Resumer(ctx.resume_dir(), f"{fmt}-run{ctx.wildcards['run']}"), ctx.log)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items() if p["model"]["kind"] != "hub" or "lora_" in k}
    save_tensors(ctx.output.model, sd, {"fmt": fmt, "seed": seed, "best_val": info["best_val"],
                                         "best_step": info.get("best_step"), "history": info["history"], "dropped": dropped})
    res = Resumer(ctx.resume_dir(), f"{fmt}-run{ctx.wildcards['run']}")
    res.finish()
    res.path.with_name(res.path.stem + "-best.safetensors").unlink(missing_ok=True)


def _search_task(model, tok, task, s, header, seed, stop_id, parse_prog, fmt):
    """Candidates sampled on the first n_candidates pool items (t = s.temperature), then every
    candidate emulated (greedy) on every pool and test item: the score matrix, computed once."""
    from . import tasks as T
    from .cotacs import parse_output
    from .model import generate

    instr, pool, test = task["instruction"], task["pool"], task["test"]
    nc = s["n_candidates"]
    heads = [T.prompt(instr, x["input"]) + header for x in pool[:nc]]
    conts = generate(model, tok, heads, max_new=s["max_new_program"], batch=s["batch"], temperature=s["temperature"],
                     seed=seed, stop_ids=[stop_id], bos=tok.bos_id is not None)
    cands = [parse_prog(c) for c in conts]
    items = pool + test
    prompts = [T.prompt(instr, x["input"]) + header + c for c in cands for x in items]
    outs = generate(model, tok, prompts, max_new=s["max_new_emulate"], batch=s["batch"], bos=tok.bos_id is not None)
    ans = [parse_output(o) for o in outs]
    n = len(items)
    rows = [ans[i * n:(i + 1) * n] for i in range(len(cands))]
    return {
        "candidates": cands,
        "ans_pool": [r[: len(pool)] for r in rows],
        "ans_test": [r[len(pool):] for r in rows],
        "examples": [outs[i * n + len(pool)] for i in range(len(cands))],  # one emulation per candidate (first test item)
    }


@stage("cogex.evaluate")
def evaluate(ctx):
    """Everything one trained model generates for the evaluation tasks (see the module doc)."""
    from . import tasks as T
    from .cotacs import bm25_shots, parse_output, parse_response, plan_of, program_of
    from .model import generate

    p, fmt = ctx.params, ctx.wildcards["fmt"]
    if fmt == "code" and p["search"]["sandbox"]["enabled"]:
        from .sandbox import preflight

        preflight()  # before loading the model: the candidates are executed in the jail
    seed = plan.run_seed(p, ctx.wildcards["run"])
    seed_everything(seed)
    model, tok, torch = _load(dict(p, seed=seed), ctx, fmt, ctx.input.model)
    s = p["search"]
    bos = tok.bos_id is not None
    out = {"fmt": fmt, "run": int(ctx.wildcards["run"]), "tasks": {}}
    for ti, task in enumerate(read_json(ctx.input.tasks)["tasks"]):
        fam = task["family"]
        res = {"gold_pool": [x["answer"] for x in task["pool"]], "gold_test": [x["answer"] for x in task["test"]]}
        tseed = seed * 1000 + ti
        if fmt == "code":
            res.update(_search_task(model, tok, task, s, "### Code\n", tseed, tok.stop_program_id, program_of, fmt))
            # end-to-end CoGEX: a fresh program (and its emulation) per test instance, greedy
            heads = [T.prompt(task["instruction"], x["input"]) + "### Code\n" for x in task["test"]]
            e2e = generate(model, tok, heads, max_new=s["max_new_program"] + s["max_new_emulate"], batch=s["batch"], bos=bos)
            res["e2e_answers"] = [parse_output(o.split(">>>", 1)[1]) if ">>>" in o else None for o in e2e]
            res["e2e_examples"] = e2e[:3]
            res["e2e_general_program"] = [program_of(o) == T.render_item(fam, x["input"], "general")["program"]
                                          for o, x in zip(e2e, task["test"])]
            # the candidates executed for real (sandbox, hidden reference) on the test inputs
            if s["sandbox"]["enabled"]:
                from .sandbox import execute

                sb = s["sandbox"]
                ex = execute([{"program": c, "args": [x["input"] for x in task["test"]]} for c in res["candidates"]],
                             cpu_s=sb["cpu_s"], mem_mb=sb["mem_mb"], wall_s=sb["wall_s"], call_seconds=sb["call_seconds"])
                res["exec_status"] = ex["status"]
                res["exec_test"] = [[parse_output(r["value"]) if "value" in r else None for r in row] for row in ex["results"]]
                res["exec_errors"] = sorted({r["error"].split(":")[0] for row in ex["results"] for r in row if "error" in r})
        elif fmt == "plan":
            stop = tok.index.get("###") if hasattr(tok, "index") else None
            res.update(_search_task(model, tok, task, s, "### Plan\n", tseed, stop, plan_of, fmt))
        else:  # nl: the plain-answer (Alpaca-analogue) model, zero-shot and 2-shot BM25
            q = [T.prompt(task["instruction"], x["input"]) + "### Response\n" for x in task["test"]]
            res["zero_shot"] = [parse_response(o) for o in generate(model, tok, q, max_new=s["max_new_answer"], batch=s["batch"], bos=bos)]
            shots = bm25_shots([x["input"] for x in task["pool"]], [x["input"] for x in task["test"]], k=s["bm25_shots"])
            ctxs = ["".join(T.prompt(task["instruction"], task["pool"][j]["input"]) + T.nl_target(task["pool"][j]["answer"])
                            for j in sh) + qq for sh, qq in zip(shots, q)]
            res["bm25"] = [parse_response(o) for o in generate(model, tok, ctxs, max_new=s["max_new_answer"], batch=s["batch"], bos=bos)]
        out["tasks"][fam] = res
        ctx.log.info("task %s done (%d/%d)", fam, ti + 1, len(p["data"]["tasks"]))
    write_json(ctx.output.evals, out)
