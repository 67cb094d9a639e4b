# dataset_decomposition: fetch (read + tokenise the corpus once) -> decompose (power-of-two
# buckets) -> train (one job per method and seed: concat-and-chunk, + document mask, DD with each
# length curriculum; the main comparison over `seeds` runs, the ablation over `ablation_seeds`) and cost (seconds per step by sequence length) -> metrics + tables -> figures ->
# claims (common.smk).
# Config: config/papers/dataset_decomposition.yaml. Code: src/paperdag/papers/dataset_decomposition/
# (job list: plan.py; outputs: report.py).


# Real English documents (Debian dict-gcide entries; hub dataset at paper scale), a tokenizer
# (BPE trained on them, or the paper's), every document tokenised once with an EOT token.
use rule stage as dataset_decomposition_fetch with:
    input:
        code=CODE("dataset_decomposition.fetch"),
    output:
        corpus="results/{scale}/dataset_decomposition/data/corpus.npz",
        tokenizer="results/{scale}/dataset_decomposition/data/tokenizer.json",
    log:
        LOG("dataset_decomposition.fetch"),
    benchmark:
        BENCH("dataset_decomposition.fetch")
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 10,
    params:
        **JOB("dataset_decomposition.fetch", "data"),


# Each training document cut into power-of-two pieces of one document (buckets D_i).
use rule stage as dataset_decomposition_decompose with:
    input:
        corpus=rules.dataset_decomposition_fetch.output.corpus,
        code=CODE("dataset_decomposition.decompose"),
    output:
        buckets="results/{scale}/dataset_decomposition/data/buckets.npz",
        stats="results/{scale}/dataset_decomposition/data/decomposition.json",
    log:
        LOG("dataset_decomposition.decompose"),
    benchmark:
        BENCH("dataset_decomposition.decompose")
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 10,
    params:
        **JOB("dataset_decomposition.decompose", "decompose", "train"),


# One method, one seed (model init and data draws), trained from scratch on the same number of
# tokens per step and in total; validation loss at fixed steps; resumes from safetensors checkpoints.
use rule stage as dataset_decomposition_train with:
    input:
        corpus=rules.dataset_decomposition_fetch.output.corpus,
        buckets=rules.dataset_decomposition_decompose.output.buckets,
        code=CODE("dataset_decomposition.train"),
    output:
        run="results/{scale}/dataset_decomposition/runs/{method}/seed{seed}.json",
        timing="results/{scale}/dataset_decomposition/runs/{method}/seed{seed}.timing.json",
        model="results/{scale}/dataset_decomposition/models/{method}/seed{seed}.safetensors",
    log:
        LOG("dataset_decomposition.train", "{method}-seed{seed}"),
    benchmark:
        BENCH("dataset_decomposition.train", "{method}-seed{seed}")
    wildcard_constraints:
        method=r"[A-Za-z0-9_]+",
        seed=r"\d+",
    resources:
        mem_mb=lambda wc: 80000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 4320 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("dataset_decomposition.train", "decompose", "mixture", "model", "train", "methods"),


# Measured seconds and analytic FLOPs per step of a fixed number of tokens, by sequence
# length (paper Fig. 7).
use rule stage as dataset_decomposition_cost with:
    input:
        corpus=rules.dataset_decomposition_fetch.output.corpus,
        code=CODE("dataset_decomposition.cost"),
    output:
        analytic="results/{scale}/dataset_decomposition/cost/analytic.json",
        measured="results/{scale}/dataset_decomposition/cost/measured.json",
    log:
        LOG("dataset_decomposition.cost"),
    benchmark:
        BENCH("dataset_decomposition.cost")
    resources:
        mem_mb=lambda wc: 80000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 60 if wc.scale == "paper" else 10,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("dataset_decomposition.cost", "decompose", "model", "train", "cost"),
