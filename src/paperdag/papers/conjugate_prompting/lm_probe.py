"""The paper's in-context-learning vs instruction-following probe on a real (or tiny stand-in)
causal LM, its English instruction fine-tune, and the scoring.

Prompt (Kotha et al., `icl_vs_if/create_datasets.py` shape): an instruction for the ICL task,
two solved demonstrations "Input: <sentence>\\nOutput: <task(sentence)>", then a query whose
input looks like an instruction ("What is 12 plus 7?"). The ICL-correct answer applies the
demonstrated task to the query (repeat: "What", capitalize: "WHAT"); a model that answers the
question ("19") follows the instruction instead. Score: the greedy continuation, leading
whitespace stripped, starts with the first word of the ICL answer (prefix match). The same
prompts (same sentences and numbers) are built in every language, so per-prompt differences
between languages are paired."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paperdag.core.errors import PaperdagError

from .languages import LANGUAGE_NAMES, SENTENCES, TEMPLATES, material


def icl_answer(task: str, text: str) -> str:
    first = text.split()[0]
    return first.upper() if task == "capitalize" else first


def apply_task(task: str, text: str) -> str:
    return text.upper() if task == "capitalize" else text


def build_prompts(lang: str, icl_task: str, if_task: str, n: int, shots: int, seed: int) -> list[dict]:
    """n prompts of one (ICL task, IF task, language) cell. The random choices depend only on
    the seed and the prompt index, so prompt i is the same in every language and task pair."""
    if if_task != "math":
        raise PaperdagError(f"lm.if_tasks: only 'math' is implemented, got '{if_task}'")
    sents, tpl = material(lang)
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        idx = rng.choice(len(sents), size=shots, replace=False)
        a, b = (int(v) for v in rng.integers(1, 50, size=2))
        query = tpl["math"].format(a=a, b=b)
        lines = [tpl[icl_task]]
        for j in idx:
            lines += [f"{tpl['input']} {sents[j]}", f"{tpl['output']} {apply_task(icl_task, sents[j])}"]
        lines += [f"{tpl['input']} {query}", f"{tpl['output']}"]
        out.append({"prompt": "\n".join(lines), "answer": icl_answer(icl_task, query), "if_answer": str(a + b), "query": query})
    return out


def is_correct(generation: str, answer: str) -> bool:
    return generation.lstrip().startswith(answer)


# ------------------------------------------------------------------ English instruction data
_OPPOSITES = [("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("day", "night"), ("open", "closed"), ("old", "new"), ("happy", "sad"), ("early", "late"), ("full", "empty")]
_LEGS = [("dog", 4), ("bird", 2), ("cat", 4), ("spider", 8), ("horse", 4), ("chicken", 2), ("ant", 6)]
_FORMATS = ["Question: {q}\nAnswer: {a}", "Input: {q}\nOutput: {a}", "{q}\n{a}"]


def instruction_data(n: int, seed: int) -> list[str]:
    """Project-written English instruction-following examples whose answers *solve* the
    instruction (arithmetic, opposites, counting), as instruction tuning does. Repeating or
    capitalising the input never appears."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        kind = int(rng.integers(5))
        a, b = (int(v) for v in rng.integers(1, 50, size=2))
        if kind == 0:
            q, ans = f"What is {a} plus {b}?", str(a + b)
        elif kind == 1:
            hi, lo = max(a, b), min(a, b)
            q, ans = f"What is {hi} minus {lo}?", str(hi - lo)
        elif kind == 2:
            x, y = _OPPOSITES[int(rng.integers(len(_OPPOSITES)))]
            q, ans = f"What is the opposite of {x}?", y
        elif kind == 3:
            x, k = _LEGS[int(rng.integers(len(_LEGS)))]
            q, ans = f"How many legs does a {x} have?", str(k)
        else:
            q, ans = f"What is {a} times 2?", str(2 * a)
        fmt = _FORMATS[int(rng.integers(len(_FORMATS)))]
        out.append(fmt.format(q=q, a=ans))
    return out


# ------------------------------------------------------------------ models
def build_tiny(out_dir: str | Path, cfg: dict, seed: int) -> None:
    """A tiny random LlamaConfig model and a byte-level BPE tokenizer trained on the probe's own
    text: the smoke-scale stand-in for the SmolLM2 asset (same loading and generation code)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    corpus = [s for v in SENTENCES.values() for s in v] + [t for v in TEMPLATES.values() for t in v.values()] + instruction_data(200, seed)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=cfg["vocab_size"], special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>", pad_token="<|endoftext|>")
    lc = LlamaConfig(
        vocab_size=len(hf_tok), hidden_size=cfg["hidden_size"], intermediate_size=2 * cfg["hidden_size"], num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"], num_key_value_heads=cfg["heads"], max_position_embeddings=512,
        bos_token_id=hf_tok.bos_token_id, eos_token_id=hf_tok.eos_token_id, pad_token_id=hf_tok.pad_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(lc)
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    hf_tok.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def load_lm(spec, verify: bool = True):
    """A causal LM and its tokenizer through the shared loader `paperdag.core.lm.load_causal_lm`:
    a local folder (the SmolLM2 asset, checked against its SHA256SUMS; the tiny stand-in, with
    verify=False) or 'hub:<id>' (paper scale); float32, eval mode, left padding for batched
    generation."""
    from paperdag.core.lm import load_causal_lm

    model, tok = load_causal_lm(spec, dtype="float32", verify=verify)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def lora_config(f: dict):
    from peft import LoraConfig

    return LoraConfig(r=f["lora_r"], lora_alpha=f["lora_alpha"], lora_dropout=0.0, target_modules=f["lora_targets"], task_type="CAUSAL_LM")


def finetune(model, tok, f: dict, seed: int, log, resume_dir, tag: str = "lm_finetune") -> tuple[dict, list[float]]:
    """A short LoRA instruction fine-tune on `instruction_data` (causal LM loss on the whole
    example). Returns the adapter's tensors and the loss curve; resumes from `resume_dir`
    (checkpoints named by `tag`, one per run)."""
    import torch
    from peft import get_peft_model, get_peft_model_state_dict

    from paperdag.core.resume import Resumer

    from peft import set_peft_model_state_dict

    class AdapterState:  # what Resumer checkpoints: the adapter only, not the frozen base model
        def state_dict(self):
            return get_peft_model_state_dict(pm)

        def load_state_dict(self, sd):
            set_peft_model_state_dict(pm, sd)

    torch.manual_seed(seed)
    pm = get_peft_model(model, lora_config(f))
    data = [t + tok.eos_token for t in instruction_data(f["steps"] * f["batch_size"], seed)]
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=f["lr"], weight_decay=0.0)
    resumer = Resumer(resume_dir, tag, every=f["checkpoint_every"])
    hist = {"loss": []}
    start = resumer.restore(AdapterState(), opt, extra=hist)
    tok.padding_side = "right"
    pm.train()
    for step in range(start, f["steps"]):
        batch = data[step * f["batch_size"] : (step + 1) * f["batch_size"]]
        enc = tok(batch, return_tensors="pt", padding=True)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        loss = pm(**enc, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hist["loss"].append(float(loss.item()))
        if (step + 1) % max(1, f["steps"] // 10) == 0:
            log.info("lm fine-tune step %d/%d loss %.4f", step + 1, f["steps"], loss.item())
        resumer.maybe_save(step + 1, AdapterState(), opt, extra=hist)
    tok.padding_side = "left"
    state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(pm).items()}
    resumer.finish()
    return state, hist["loss"]


def with_adapter(model, adapter_path: str, f: dict):
    """The pre-trained model with the fine-tuned LoRA adapter merged in."""
    from peft import get_peft_model, set_peft_model_state_dict

    from paperdag.core.io import load_tensors

    pm = get_peft_model(model, lora_config(f))
    set_peft_model_state_dict(pm, load_tensors(adapter_path))
    merged = pm.merge_and_unload()
    merged.eval()
    return merged


def generate(model, tok, prompts: list[str], max_new_tokens: int, batch_size: int) -> list[str]:
    """Greedy continuations (raw text, no chat template), batched with left padding."""
    import torch

    outs = []
    for i in range(0, len(prompts), batch_size):
        enc = tok(prompts[i : i + batch_size], return_tensors="pt", padding=True)
        with torch.no_grad():
            g = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, num_beams=1)
        outs += tok.batch_decode(g[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return outs


def run_probe(model, tok, lm: dict, log) -> dict:
    """Generations and correctness for every (ICL task, IF task, language) cell."""
    cells = {}
    for icl in lm["icl_tasks"]:
        for if_task in lm["if_tasks"]:
            for lang in lm["languages"]:
                ps = build_prompts(lang, icl, if_task, lm["n_prompts"], lm["shots"], lm["seed"])
                # enough new tokens to spell the longest ICL or instruction-following answer of the
                # cell (+1), at most max_new_tokens: prefix matching needs no more, and a
                # multi-token word such as "¿Cuánto" (or a sum such as "22") must not be cut off
                need = max(len(tok(" " + a, add_special_tokens=False)["input_ids"]) for x in ps for a in (x["answer"], x["if_answer"])) + 1
                gens = generate(model, tok, [x["prompt"] for x in ps], min(lm["max_new_tokens"], need), lm["batch_size"])
                correct = [is_correct(g, x["answer"]) for g, x in zip(gens, ps)]
                follows_if = [g.lstrip().startswith(x["if_answer"]) for g, x in zip(gens, ps)]
                key = f"{icl}|{if_task}|{lang}"
                cells[key] = {"correct": correct, "if_answer": follows_if, "generations": gens, "answers": [x["answer"] for x in ps]}
                log.info("%s: ICL accuracy %.2f, IF answer %.2f; e.g. %r -> %r", key, np.mean(correct), np.mean(follows_if), ps[0]["answer"], gens[0])
    return cells


def _acc(cells: dict, key: str) -> np.ndarray:
    return 100 * np.array(cells[key]["correct"], float)


def summarise(pre: dict, fts: list[dict], lm: dict, names: dict) -> dict:
    """The paper's table (accuracy per task pair x language: the pre-trained LM, the fine-tuned
    LMs as mean and std over the independent fine-tunes, the drop) and the claim inputs, one
    value per fine-tune run (n = runs; prompts are not independent replicates): each run's value
    is its mean over prompts and task pairs, in percentage points. `pre` and each of `fts` are
    the probe's cells {"<icl>|<if>|<lang>": {"correct": [...], "if_answer": [...]}}."""
    from paperdag.core.stats import mean_std

    R = len(fts)
    pairs = [f"{icl}|{t}" for icl in lm["icl_tasks"] for t in lm["if_tasks"]]
    table, by_lang = [], {}
    pre_lang, ft_lang = {}, {}  # language -> accuracy (pre) / per-run accuracies, mean over pairs and prompts
    for lang in lm["languages"]:
        for pair in pairs:
            k = f"{pair}|{lang}"
            a = _acc(pre, k)
            b = np.array([_acc(ft, k).mean() for ft in fts])
            icl, if_task = pair.split("|")
            table.append({"icl_task": icl, "if_task": if_task, "language": LANGUAGE_NAMES[lang], "n_prompts": len(a), "runs": R,
                          "pretrained_acc": float(a.mean()), "finetuned_acc": float(b.mean()), "finetuned_sd": float(b.std(ddof=1)) if R > 1 else 0.0,
                          "drop": float(a.mean() - b.mean()),
                          "pretrained_if": float(100 * np.mean(pre[k]["if_answer"])), "finetuned_if": float(np.mean([100 * np.mean(ft[k]["if_answer"]) for ft in fts]))})
        pre_lang[lang] = float(np.mean([_acc(pre, f"{pair}|{lang}").mean() for pair in pairs]))
        ft_lang[lang] = np.array([np.mean([_acc(ft, f"{pair}|{lang}").mean() for pair in pairs]) for ft in fts])
        by_lang[LANGUAGE_NAMES[lang]] = {"pretrained_acc": pre_lang[lang], "finetuned_acc": float(ft_lang[lang].mean()),
                                         "finetuned_sd": float(ft_lang[lang].std(ddof=1)) if R > 1 else 0.0,
                                         "finetuned_runs": [float(v) for v in ft_lang[lang]], "drop": float(pre_lang[lang] - ft_lang[lang].mean())}
    claims, per_run = {}, {}
    others = [la for la in lm["languages"] if la != "en"]
    if "en" in lm["languages"] and others:
        drop = {la: pre_lang[la] - ft_lang[la] for la in lm["languages"]}  # per run
        per_run["lm_drop_en"] = drop["en"]
        per_run["lm_drop_en_minus_others"] = drop["en"] - np.mean([drop[la] for la in others], axis=0)
        per_run["lm_conjugate_gain_finetuned"] = np.mean([ft_lang[la] for la in others], axis=0) - ft_lang["en"]
        per_run["lm_pretrained_gain_others"] = np.full(R, np.mean([pre_lang[la] for la in others]) - pre_lang["en"])
        claims = {k: mean_std(v) for k, v in per_run.items() if k != "lm_pretrained_gain_others"}
    if "en" in lm["languages"]:
        # testbed premise: the pre-trained LM's English ICL accuracy (one model, one measurement)
        claims["lm_pretrained_icl_en"] = float(pre_lang["en"])
    summary = {"models": names, "languages": [LANGUAGE_NAMES[la] for la in lm["languages"]], "runs": R, "by_language": by_lang,
               "per_run": {k: [float(x) for x in v] for k, v in per_run.items()}}
    return {"summary": summary, "table": table, "claims_inputs": claims}


# ------------------------------------------------------------------ stages
def tiny_stage(ctx):
    p = ctx.params["lm"]
    build_tiny(ctx.output.model, p["tiny"], p["seed"])


def finetune_stage(ctx):
    import torch

    from paperdag.core.io import save_tensors

    from . import plan

    p = ctx.params["lm"]
    run = ctx.wildcards["run"]
    seed = plan.lm_ft_seed(ctx.params, run)
    ctx.log.info("fine-tune run %s: seed %d", run, seed)
    torch.manual_seed(seed)
    model, tok = load_lm(ctx.input.base, verify=p["source"] != "tiny")
    state, curve = finetune(model, tok, p["finetune"], seed, ctx.log, ctx.resume_dir(), tag=f"lm_finetune-run{run}")
    save_tensors(ctx.output.adapter, state, {"loss_curve": curve, "seed": seed})


def probe_stage(ctx):
    """Probe one LM: the pre-trained one (wildcard which = pre) or fine-tune run r (which = run<r>):
    the pre-trained model with run r's adapter merged in, or at the hub scale the published
    fine-tuned checkpoint."""
    from paperdag.core.io import write_json

    p = ctx.params["lm"]
    which = ctx.wildcards["which"]
    if p["source"] == "hub":
        name = p["hub"]["pretrained"] if which == "pre" else p["hub"]["finetuned"]
        m, tok = load_lm(f"hub:{name}")
    else:
        m, tok = load_lm(ctx.input.base, verify=p["source"] != "tiny")
        base = "tiny random Llama (smoke stand-in)" if p["source"] == "tiny" else Path(ctx.input.base).name
        name = base
        if which != "pre":
            m = with_adapter(m, ctx.input.adapter, p["finetune"])
            name = f"{base} + English instruction LoRA ({p['finetune']['steps']} steps)"
    cells = run_probe(m, tok, p, ctx.log)
    write_json(ctx.output.lm, json.loads(json.dumps({"which": which, "model": name, "cells": cells})))
