# conjugate_prompting: Part 1, synthetic in-context regression, one job chain per independent
# training run {run} (pretrain on D_mix -> finetune on D_disc -> evaluate with Bayes references and
# conjugate prompts); Part 2, the LM probe (the pre-trained LM: Gemma 3 270M base from the shared
# asset, or a tiny stand-in at smoke -> one English instruction LoRA per run {run} -> ICL vs
# instruction-following probe per language of the pre-trained LM once and of every fine-tune)
# -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/conjugate_prompting.yaml. Code: src/paperdag/papers/conjugate_prompting/
# (job lists and config slices: plan.py).

from paperdag.papers.conjugate_prompting import plan as cp_plan

# the paper's params at a job's scale (a lambda: rule files hold no functions)
_cp = lambda w: PAPER_CFG["conjugate_prompting"].params(w.scale)


# Pre-train the in-context regressor of run {run} on the mixture D_mix (resumable).
use rule stage as conjugate_prompting_pretrain with:
    input:
        code=CODE("conjugate_prompting.pretrain"),
    output:
        model="results/{scale}/conjugate_prompting/models/run{run}/pretrained.safetensors",
    log:
        LOG("conjugate_prompting.pretrain", "run{run}"),
    benchmark:
        BENCH("conjugate_prompting.pretrain", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1500,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("conjugate_prompting.pretrain", cfg=lambda w: cp_plan.pretrain_params(_cp(w))),


# Fine-tune a copy on the discrete tasks D_disc; keep the configured snapshots.
use rule stage as conjugate_prompting_finetune with:
    input:
        model=rules.conjugate_prompting_pretrain.output.model,
        code=CODE("conjugate_prompting.finetune"),
    output:
        models=directory("results/{scale}/conjugate_prompting/models/run{run}/finetuned"),
    log:
        LOG("conjugate_prompting.finetune", "run{run}"),
    benchmark:
        BENCH("conjugate_prompting.finetune", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1500,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("conjugate_prompting.finetune", cfg=lambda w: cp_plan.finetune_params(_cp(w))),


# Losses per prompt and prefix of run {run}'s models under every transform, and of ridge,
# discrete regression and the posterior mixture, on fresh D_cont and D_disc prompts (the same
# prompts for every run).
use rule stage as conjugate_prompting_evaluate with:
    input:
        model=rules.conjugate_prompting_pretrain.output.model,
        models=rules.conjugate_prompting_finetune.output.models,
        code=CODE("conjugate_prompting.evaluate"),
    output:
        losses="results/{scale}/conjugate_prompting/evals/synthetic-run{run}.npz",
    log:
        LOG("conjugate_prompting.evaluate", "run{run}"),
    benchmark:
        BENCH("conjugate_prompting.evaluate", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        **JOB("conjugate_prompting.evaluate", cfg=lambda w: cp_plan.evaluate_params(_cp(w))),


# Smoke-scale stand-in for the Gemma asset: a tiny random Llama with a byte-level BPE
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
        **JOB("conjugate_prompting.lm_tiny", cfg=lambda w: cp_plan.lm_train_params(_cp(w))),


# The fine-tuned LM of run {run}: an English instruction LoRA fine-tune of the pre-trained one
# (its own seed: LoRA initialisation and instruction examples).
use rule stage as conjugate_prompting_lm_finetune with:
    input:
        base=lambda w: cp_plan.lm_base(w.scale, _cp(w)),
        code=CODE("conjugate_prompting.lm_finetune"),
    output:
        adapter="results/{scale}/conjugate_prompting/lm/adapter-run{run}.safetensors",
    log:
        LOG("conjugate_prompting.lm_finetune", "run{run}"),
    benchmark:
        BENCH("conjugate_prompting.lm_finetune", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        **JOB("conjugate_prompting.lm_finetune", cfg=lambda w: cp_plan.lm_train_params(_cp(w))),


# ICL vs instruction-following probe in every language / transform, of the pre-trained LM
# ({which} = pre) or of fine-tune {which} = run<r>.
use rule stage as conjugate_prompting_lm_probe with:
    input:
        unpack(lambda w: cp_plan.probe_inputs(w.scale, _cp(w), w.which)),
        code=CODE("conjugate_prompting.lm_probe"),
    output:
        lm="results/{scale}/conjugate_prompting/evals/lm_probe-{which}.json",
    log:
        LOG("conjugate_prompting.lm_probe", "{which}"),
    benchmark:
        BENCH("conjugate_prompting.lm_probe", "{which}")
    wildcard_constraints:
        which=r"pre|run\d+",
    resources:
        mem_mb=4000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("conjugate_prompting.lm_probe", cfg=lambda w: cp_plan.probe_params(_cp(w))),
