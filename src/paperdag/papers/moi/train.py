"""Part (b): one training run of one strategy (the model, the loop, the evaluation during training).

Models: `scratch` (a tiny Llama from transformers' LlamaConfig on the word vocabulary of tasks.py,
random init from the run's seed: the default and smoke scales) or a pretrained chat model (`local`
folder or `hub` id; the `paper` scale: Qwen-7B-Chat) with LoRA adapters from peft, rendered with its
own chat template. Evaluation: greedy exact match (by teacher forcing, method.exact_match) on the
held-out items of each domain, with the default system prompt (as the paper) and, at the end, with
the domain's system prompt too (the prompt-overfitting gap); step 0 is the untrained control."""

from __future__ import annotations

import torch

from paperdag.core.errors import PaperdagError

from . import method, tasks

STRATEGIES = {
    # name: sampling, system prompts, default prompt first, attention mask
    "sequence": {"sampling": "sequence", "prompts": "default", "default_first": False, "mask": "causal"},
    "packing": {"sampling": "random", "prompts": "default", "default_first": False, "mask": "causal"},
    "balanced": {"sampling": "balanced", "prompts": "default", "default_first": False, "mask": "causal"},
    "balanced_domain": {"sampling": "balanced", "prompts": "domain", "default_first": False, "mask": "causal"},
    "moi_nomask": {"sampling": "balanced", "prompts": "domain", "default_first": True, "mask": "causal"},
    "moi_isolated": {"sampling": "balanced", "prompts": "domain", "default_first": True, "mask": "isolated"},
    "moi": {"sampling": "balanced", "prompts": "domain", "default_first": True, "mask": "chunk"},
    "moi_v1": {"sampling": "balanced", "prompts": "domain", "default_first": True, "mask": "causal"},  # = moi_nomask (v1 switch)
}


def strategy(name: str, train: dict) -> dict:
    if name not in STRATEGIES:
        raise PaperdagError(f"unknown strategy '{name}' (known: {', '.join(STRATEGIES)})")
    return dict(STRATEGIES[name], chunks_per_row=train["chunks_per_row"])


def build(spec: dict, seed: int, lm_path: str | None = None):
    """(model in train mode, renderer)."""
    if spec["source"] == "scratch":
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = LlamaConfig(vocab_size=len(tasks.VOCAB), pad_token_id=tasks.PAD, bos_token_id=tasks.SYS, eos_token_id=tasks.EOS,
                          tie_word_embeddings=True, **spec["config"])
        cfg._attn_implementation = spec.get("attn", "sdpa")
        torch.manual_seed(seed)
        model = LlamaForCausalLM(cfg)
        renderer = method.WordRenderer()
    else:
        from paperdag.core.lm import load_causal_lm

        src = {"source": "local", "path": lm_path or spec["path"]} if spec["source"] == "local" else {"source": "hub", "id": spec["id"]}
        model, tok = load_causal_lm(src, dtype=spec.get("dtype", "float32"), attn_implementation=spec.get("attn", "sdpa"),
                                    verify=spec.get("verify", True))
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        renderer = method.ChatTemplateRenderer(tok)
        if spec.get("lora"):
            from peft import LoraConfig, get_peft_model

            lc = spec["lora"]
            torch.manual_seed(seed)
            model = get_peft_model(model, LoraConfig(r=lc["r"], lora_alpha=lc["alpha"], lora_dropout=lc.get("dropout", 0.0),
                                                     target_modules=lc["target_modules"], task_type="CAUSAL_LM"))
    model.train()
    return model, renderer


def evaluate(model, renderer, test: dict, batch: int, domain_prompt: bool) -> dict:
    model.eval()
    out = {}
    for d, items in test.items():
        sys_of = (lambda it, d=d: tasks.PROMPTS[d]) if domain_prompt else (lambda it: tasks.PROMPTS["default"])
        out[d] = method.exact_match(model, renderer, items, sys_of, batch)
    model.train()
    return out


def run(p: dict, name: str, seed: int, data: dict, resume_dir, log, lm_path: str | None = None):
    """Train one strategy with one seed; returns (model, evaluation dict)."""
    from paperdag.core.resume import Resumer

    tr = p["train"]
    strat = strategy(name, tr)
    model, renderer = build(p["model"], seed, lm_path)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=tr["lr"], weight_decay=tr["weight_decay"], betas=(0.9, 0.98))
    steps, warm = tr["steps"], tr["warmup"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1.0 - s / steps))
    sizes = {d: len(v) for d, v in data["train"].items()}
    plan = method.schedule(sizes, strat["sampling"], steps, tr["per_step"], tr["n_mix"], seed)
    res = Resumer(resume_dir, f"{name}-{seed}", every=tr["eval_every"])
    extra = {"curve": []}
    start = res.restore(model, opt, extra)
    for _ in range(start):
        sched.step()
    curve = extra["curve"]
    if start == 0:
        curve.append({"step": 0, **{d: sum(v) / len(v) for d, v in evaluate(model, renderer, data["test"], tr["eval_batch"], False).items()}})
    tokens = 0
    for s in range(start, steps):
        rows = method.training_rows(data["train"], plan[s], strat, renderer)
        b = method.collate(rows, strat["mask"], renderer.pad_id, dtype=next(model.parameters()).dtype)
        tokens = int(b["input_ids"].numel())
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], position_ids=b["position_ids"]).logits
        loss = method.loss_fn(logits, b, tr["loss"])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        done = s + 1
        if done % tr["eval_every"] == 0 or done == steps:
            acc = evaluate(model, renderer, data["test"], tr["eval_batch"], False)
            curve.append({"step": done, **{d: sum(v) / len(v) for d, v in acc.items()}})
            log.info("step %d/%d loss %.4f default-prompt acc %s", done, steps, loss.item(), {d: round(curve[-1][d], 3) for d in acc})
            res.maybe_save(done, model, opt, {"curve": curve}, force=True)
    final_default = evaluate(model, renderer, data["test"], tr["eval_batch"], False)
    final_domain = evaluate(model, renderer, data["test"], tr["eval_batch"], True)
    out = {
        "strategy": name, "seed": seed, "spec": strat,
        "curve": curve,
        "default": {d: sum(v) / len(v) for d, v in final_default.items()},
        "domain": {d: sum(v) / len(v) for d, v in final_domain.items()},
        "untrained": {d: curve[0][d] for d in final_default},
        "n_test": {d: len(v) for d, v in final_default.items()},
        "tokens_per_step": tokens,
    }
    return model, out, res
