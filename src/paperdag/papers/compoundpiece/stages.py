"""compoundpiece's stages: data -> train (one job per variant and run; each job also decodes the
evaluation words) -> tokenizers (one job per run) / baselines / LLM -> metrics (aggregate.py)."""

from __future__ import annotations

from paperdag.core.io import read_json, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


@stage("compoundpiece.data")
def data(ctx):
    """Gold / silver / negative words, Stage-1 web words and the tokenizer corpus (data.py)."""
    p = ctx.params
    if p["data"]["source"] == "hub":
        from .hub import build_from_hub

        out = build_from_hub(p)
    else:
        from .data import build

        out = build(p, p["seed"])
    ctx.log.info("sizes %s", out["sizes"])
    write_json(ctx.output.data, out)


@stage("compoundpiece.train")
def train(ctx):
    """One independent run of one variant: stage1 (hyphen prediction on web words), stage2 (Stage 2
    only: supervised normalization from random init) or stage12 (Stage 2 from this run's Stage-1
    model). Writes the model and its greedy outputs on the evaluation words (and, for stage1, on the
    tokenizer corpus)."""
    import torch

    from . import model as M

    p = ctx.params
    variant, run = ctx.wildcards["variant"], int(ctx.wildcards["run"])
    seed = plan.run_seed(p, run, variant)
    seed_everything(seed)
    d = read_json(ctx.input.data)
    max_len = plan.max_len(p)
    net = M.build_model(p["model"], seed) if p["model"]["source"] == "random" else M.load_hub(p["model"])
    if variant == "stage12":
        from paperdag.core.io import load_tensors

        net.load_state_dict(load_tensors(ctx.input.init[0]), strict=False)
        net.tie_weights()
    if variant == "stage1":
        pairs = [(r["input"], r["target"]) for r in d["web_train"]]
        # web validation: hyphen re-insertion accuracy (the paper's Stage-1 validation)
        valid = [(r["input"], r["target"]) for r in d["web_valid"][:400]]
    else:
        pairs = [(r["word"], r["norm"]) for r in d["train"]]
        # validation words: normalization accuracy (positives and negatives pooled)
        valid = [(r["word"], r["norm"]) for r in d["valid"]]
    t = plan.train_cfg(p, variant)
    t["max_len"] = max_len
    ctx.log.info("%s run %d (seed %d): %d training pairs, %d steps, %d params", variant, run, seed, len(pairs),
                 t["steps"], sum(x.numel() for x in net.parameters()))

    def valid_acc(model) -> float:
        outs = M.generate(model, [a for a, _ in valid], max_len, p["eval"]["batch_size"])
        return sum(o == b for o, (_, b) in zip(outs, valid)) / max(1, len(valid))

    res = M.train(net, pairs, t, seed, ctx.resume_dir(), f"{variant}-run{run}", ctx.log, valid_fn=valid_acc)
    words = sorted({r["word"] for k in ("test", "valid", "silver") for r in d[k]})
    outputs = M.generate(net, words, max_len, p["eval"]["batch_size"])
    ev = {"variant": variant, "run": run, "seed": seed, "steps": t["steps"], "loss": res["loss"],
          "valid_curve": res["valid"], "outputs": dict(zip(words, outputs))}
    if variant == "stage1":
        ev["web_valid_acc"] = res["valid"][-1][1] if res["valid"] else valid_acc(net)
        cw = sorted({w for c in d["corpus"].values() for w in c})
        ev["corpus_outputs"] = dict(zip(cw, M.generate(net, cw, max_len, p["eval"]["batch_size"])))
    sd = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    save_tensors(ctx.output.model, sd, {"variant": variant, "seed": seed})
    write_json(ctx.output.evals, ev)
    res["resumer"].finish()
    torch.set_num_threads(1)


@stage("compoundpiece.tokenizers")
def tokenizers(ctx):
    """Plain SentencePiece vs CompoundPiece (the corpus pre-split by this run's Stage-1 model),
    trained per language; the hard-compound rate of each on the gold test compounds."""
    from . import lang as L
    from . import spm as S

    p = ctx.params
    d = read_json(ctx.input.data)
    ev = read_json(ctx.input.stage1)
    run = int(ctx.wildcards["run"])
    out = {"run": run, "langs": {}}
    for lang in d["langs"]:
        corpus = d["corpus"][lang]
        seg = {w: L.to_segmentation(w, ev["corpus_outputs"].get(w, w)) for w in corpus}
        gold = [r for r in d["test"] if r["lang"] == lang and r["pos"]]
        plain = S.processor(S.train_spm(corpus, p["spm"]["vocab_size"], p["seed"], p["spm"]["max_repeat"]))
        cp = S.processor(S.train_spm(S.constituent_units(corpus, seg), p["spm"]["vocab_size"], p["seed"],
                                     p["spm"]["max_repeat"]))
        out["langs"][lang] = {
            "spm_hard_rate": S.hard_rate(plain, gold),
            "compoundpiece_hard_rate": S.hard_rate(cp, gold),
            "presplit_share": sum("-" in s for s in seg.values()) / max(1, len(seg)),
            "vocab": [plain.get_piece_size(), cp.get_piece_size()],
        }
        ctx.log.info("%s: %s", lang, out["langs"][lang])
    write_json(ctx.output.evals, out)


@stage("compoundpiece.baselines")
def baselines(ctx):
    """Predictions of the identity control, the frequency-based splitter (its frequencies counted from
    the unlabelled Stage-1 web words, what Stage 1 sees) and compound-split (its split threshold
    chosen on validation) on the evaluation words."""
    from . import baselines as B
    from . import scoring
    from .data import read_word_list

    p = ctx.params
    d = read_json(ctx.input.data)
    out = {"identity": {}, "frequency": {}, "compound_split": {}, "charsplit_threshold": {}}
    for lang in d["langs"]:
        rows = [r for k in ("test", "valid", "silver") for r in d[k] if r["lang"] == lang]
        words = sorted({r["word"] for r in rows})
        out["identity"].update({w: {"seg": w, "norm": w} for w in words})
        # frequencies from the Stage-1 web words only (not the word list the constituents come from)
        freqs = B.web_frequencies(d["web_train"], lang)
        fs = B.FrequencySplitter(lang, freqs, read_word_list(lang) if lang == "de" else None,
                                 min_part=p["data"]["min_part_len"])
        for w in words:
            seg, norm = fs.split(w)
            out["frequency"][w] = {"seg": seg, "norm": norm}
        if lang in p["baselines"]["charsplit_langs"]:
            valid = [r for r in d["valid"] if r["lang"] == lang]
            best = None
            for th in p["baselines"]["charsplit_thresholds"]:
                pr = {r["word"]: {"seg": B.charsplit(r["word"], lang, th)} for r in valid}
                acc = scoring.macro(scoring.score([{**r, "norm": r["norm"]} for r in valid],
                                                  {w: {**v, "norm": B.charsplit_norm(v["seg"], lang)} for w, v in pr.items()}),
                                    "seg")
                if best is None or acc > best[0]:
                    best = (acc, th)
            out["charsplit_threshold"][lang] = {"threshold": best[1], "valid_seg_avg": best[0]}
            for w in words:
                seg = B.charsplit(w, lang, best[1])
                out["compound_split"][w] = {"seg": seg, "norm": B.charsplit_norm(seg, lang)}
        ctx.log.info("%s: %d words; compound-split threshold %s", lang, len(words), out["charsplit_threshold"].get(lang))
    write_json(ctx.output.evals, out)


@stage("compoundpiece.llm")
def llm(ctx):
    """SmolLM2-135M-Instruct few-shot: test compounds split easy / hard by its own tokenizer
    (n_easy + n_hard per language), same-language demonstrations from the training words, greedy."""
    import random

    import torch

    from paperdag.core.lm import load_causal_lm

    from . import baselines as B
    from . import lang as L
    from . import scoring

    p = ctx.params
    q = p["llm"]
    d = read_json(ctx.input.data)
    spec = ctx.input.model if q["source"] == "asset" else {"source": "hub", "id": q["hub_id"]}
    model, tok = load_causal_lm(spec)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    rng = random.Random(q["seed"])
    out = {"words": {}, "hard_share": {}}
    for lang in q["langs"]:
        pos = [r for r in d["test"] if r["lang"] == lang and r["pos"]]
        tagged = [(r, L.is_hard(r["seg"], B.hf_pieces(tok, r["word"]))) for r in pos]
        out["hard_share"][lang] = sum(h for _, h in tagged) / max(1, len(tagged))
        easy = [r for r, h in tagged if not h][: q["n_easy"]]
        hard = [r for r, h in tagged if h][: q["n_hard"]]
        pool = d["fewshot"][lang]
        demos_pos = [r for r in pool if r["pos"]]
        demos_neg = [r for r in d["train"] if r["lang"] == lang and not r["pos"]][:10]
        chosen = rng.sample(demos_pos, min(len(demos_pos), q["shots"] - 2)) + rng.sample(demos_neg, 2)
        rng.shuffle(chosen)
        items = [(r, "easy") for r in easy] + [(r, "hard") for r in hard]
        for i in range(0, len(items), q["batch_size"]):
            chunk = items[i:i + q["batch_size"]]
            prompts = [B.fewshot_prompt(lang, chosen, r["word"]) for r, _ in chunk]
            enc = tok(prompts, return_tensors="pt", padding=True)
            with torch.no_grad():
                gen = model.generate(**enc, max_new_tokens=q["max_new_tokens"], do_sample=False,
                                     pad_token_id=tok.pad_token_id)
            texts = tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for (r, cls), t in zip(chunk, texts):
                ans = B.parse_answer(t)
                out["words"][r["word"]] = {"lang": lang, "class": cls, "output": ans, "seg": L.to_segmentation(r["word"], ans),
                                           "gold_seg": r["seg"], "gold_norm": r["norm"]}
            ctx.log.info("%s: %d/%d words", lang, i + len(chunk), len(items))
        out.setdefault("demos", {})[lang] = [r["word"] for r in chosen]
    out["prompt_example"] = B.fewshot_prompt(q["langs"][0], [], "<word>")
    _ = scoring
    write_json(ctx.output.evals, out)
