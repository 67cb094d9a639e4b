# compoundpiece: data -> train (one job per variant x run; it also decodes the evaluation words)
# -> tokenizers (one job per run) / baselines / llm -> metrics + tables -> figures -> claims
# (the metrics, figures and claims rules come from common.smk and papers/compoundpiece/report.py).
# Config: config/papers/compoundpiece.yaml. Code: src/paperdag/papers/compoundpiece/ (job lists: plan.py).

from paperdag.papers.compoundpiece import plan as compoundpiece_plan


use rule stage as compoundpiece_data with:
    input:
        code=CODE("compoundpiece.data"),
    output:
        data="results/{scale}/compoundpiece/data/words.json",
    log:
        LOG("compoundpiece.data"),
    benchmark:
        BENCH("compoundpiece.data")
    resources:
        mem_mb=2000,
        runtime=lambda wc: 120 if wc.scale == "paper" else 10,
    params:
        **JOB("compoundpiece.data", "seed", "data"),


use rule stage as compoundpiece_train with:
    input:
        data=rules.compoundpiece_data.output.data,
        init=lambda w: compoundpiece_plan.train_init(w.scale, w.variant, w.run),
        code=CODE("compoundpiece.train"),
    output:
        model="results/{scale}/compoundpiece/models/{variant}-run{run}.safetensors",
        evals="results/{scale}/compoundpiece/evals/{variant}-run{run}.json",
    log:
        LOG("compoundpiece.train", "{variant}-run{run}"),
    benchmark:
        BENCH("compoundpiece.train", "{variant}-run{run}")
    wildcard_constraints:
        variant="stage1|stage2|stage12",
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 40000 if wc.scale == "paper" else 1500,
        runtime=lambda wc: 2880 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("compoundpiece.train", "seed", "data", "model", "stage1", "stage2", "eval"),


use rule stage as compoundpiece_tokenizers with:
    input:
        data=rules.compoundpiece_data.output.data,
        stage1="results/{scale}/compoundpiece/evals/stage1-run{run}.json",
        code=CODE("compoundpiece.tokenizers"),
    output:
        evals="results/{scale}/compoundpiece/evals/tokenizers-run{run}.json",
    log:
        LOG("compoundpiece.tokenizers", "run{run}"),
    benchmark:
        BENCH("compoundpiece.tokenizers", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "paper" else 1000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 10,
    params:
        **JOB("compoundpiece.tokenizers", "seed", "spm"),


use rule stage as compoundpiece_baselines with:
    input:
        data=rules.compoundpiece_data.output.data,
        code=CODE("compoundpiece.baselines"),
    output:
        evals="results/{scale}/compoundpiece/evals/baselines.json",
    log:
        LOG("compoundpiece.baselines"),
    benchmark:
        BENCH("compoundpiece.baselines")
    resources:
        mem_mb=3000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 15,
    params:
        **JOB("compoundpiece.baselines", "data", "baselines"),


use rule stage as compoundpiece_llm with:
    input:
        data=rules.compoundpiece_data.output.data,
        model=rules.lm_asset.output.model,
        code=CODE("compoundpiece.llm"),
    output:
        evals="results/{scale}/compoundpiece/evals/llm.json",
    log:
        LOG("compoundpiece.llm"),
    benchmark:
        BENCH("compoundpiece.llm")
    resources:
        mem_mb=4000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("compoundpiece.llm", "llm"),
