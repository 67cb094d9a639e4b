# conjugate_prompting: synthetic in-context regression (pretrain on D_mix -> finetune on D_disc ->
# evaluate with Bayes references and conjugate prompts) and the LM probe (tiny stand-in or the
# shared SmolLM2 asset -> English instruction LoRA -> ICL vs instruction-following probe per
# language) -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/conjugate_prompting.yaml. Code: src/paperdag/papers/conjugate_prompting/.

from paperdag.papers.conjugate_prompting import plan as cp_plan


# Pre-train the in-context regressor on the mixture D_mix (resumable).
use rule stage as conjugate_prompting_pretrain with:
    input:
        code=CODE("conjugate_prompting.pretrain"),
    output:
        model="results/{scale}/conjugate_prompting/models/pretrained.safetensors",
    log:
        LOG("conjugate_prompting.pretrain"),
    benchmark:
        BENCH("conjugate_prompting.pretrain")
    resources:
        mem_mb=1500,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("conjugate_prompting.pretrain", "synthetic"),


# Fine-tune a copy on the discrete tasks D_disc; keep the configured snapshots.
use rule stage as conjugate_prompting_finetune with:
    input:
        model=rules.conjugate_prompting_pretrain.output.model,
        code=CODE("conjugate_prompting.finetune"),
    output:
        models=directory("results/{scale}/conjugate_prompting/models/finetuned"),
    log:
        LOG("conjugate_prompting.finetune"),
    benchmark:
        BENCH("conjugate_prompting.finetune")
    resources:
        mem_mb=1500,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("conjugate_prompting.finetune", "synthetic"),


# Losses per prompt and prefix of every model under every transform, and of ridge,
# discrete regression and the posterior mixture, on fresh D_cont and D_disc prompts.
use rule stage as conjugate_prompting_evaluate with:
    input:
        model=rules.conjugate_prompting_pretrain.output.model,
        models=rules.conjugate_prompting_finetune.output.models,
        code=CODE("conjugate_prompting.evaluate"),
    output:
        losses="results/{scale}/conjugate_prompting/evals/synthetic.npz",
    log:
        LOG("conjugate_prompting.evaluate"),
    benchmark:
        BENCH("conjugate_prompting.evaluate")
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        **JOB("conjugate_prompting.evaluate", "synthetic"),


# Smoke-scale stand-in for the SmolLM2 asset: a tiny random Llama with a byte-level BPE
# tokenizer trained on the probe's own text (same loading and generation code).
use rule stage as conjugate_prompting_lm_tiny with:
    input:
        code=CODE("conjugate_prompting.lm_tiny"),
    output:
        model=directory("results/{scale}/conjugate_prompting/lm/tiny_base"),
    log:
        LOG("conjugate_prompting.lm_tiny"),
    benchmark:
        BENCH("conjugate_prompting.lm_tiny")
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **JOB(
            "conjugate_prompting.lm_tiny",
            cfg=lambda w: cp_plan.lm_train_params(PAPER_CFG["conjugate_prompting"].params(w.scale)),
        ),


# The "fine-tuned" LM: a short English instruction LoRA fine-tune of the pre-trained one.
use rule stage as conjugate_prompting_lm_finetune with:
    input:
        base=lambda w: cp_plan.lm_base(w.scale, PAPER_CFG["conjugate_prompting"].params(w.scale)),
        code=CODE("conjugate_prompting.lm_finetune"),
    output:
        adapter="results/{scale}/conjugate_prompting/lm/adapter.safetensors",
    log:
        LOG("conjugate_prompting.lm_finetune"),
    benchmark:
        BENCH("conjugate_prompting.lm_finetune")
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        **JOB(
            "conjugate_prompting.lm_finetune",
            cfg=lambda w: cp_plan.lm_train_params(PAPER_CFG["conjugate_prompting"].params(w.scale)),
        ),


# ICL vs instruction-following probe of both LMs in every language / transform.
use rule stage as conjugate_prompting_lm_probe with:
    input:
        unpack(lambda w: cp_plan.probe_inputs(w.scale, PAPER_CFG["conjugate_prompting"].params(w.scale))),
        code=CODE("conjugate_prompting.lm_probe"),
    output:
        lm="results/{scale}/conjugate_prompting/evals/lm_probe.json",
    log:
        LOG("conjugate_prompting.lm_probe"),
    benchmark:
        BENCH("conjugate_prompting.lm_probe")
    resources:
        mem_mb=4000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("conjugate_prompting.lm_probe", "lm"),
