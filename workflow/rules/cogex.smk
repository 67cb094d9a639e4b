# cogex: data (generator) -> train (one job per format x run) -> evaluate (one job per format x run:
# candidate programs, the emulation score matrix, end-to-end, sandboxed execution; or the plain-answer
# baselines) -> metrics + tables (CoTACS selection, voting, Figure 2 simulation) -> figures -> claims
# (the metrics, figures and claims rules come from common.smk and papers/cogex/report.py).
# Config: config/papers/cogex.yaml. Code: src/paperdag/papers/cogex/ (job lists: plan.py).

from paperdag.papers.cogex import plan as cogex_plan


use rule stage as cogex_data with:
    input:
        code=CODE("cogex.data"),
    output:
        corpus="results/{scale}/cogex/data/corpus.json",
        tasks="results/{scale}/cogex/data/tasks.json",
        tokenizer="results/{scale}/cogex/data/tokenizer.json",
    log:
        LOG("cogex.data"),
    benchmark:
        BENCH("cogex.data")
    resources:
        mem_mb=lambda wc: 8000 if wc.scale == "paper" else 500,
        runtime=lambda wc: 60 if wc.scale == "paper" else 5,
    params:
        **JOB("cogex.data", "seed", "data"),


use rule stage as cogex_train with:
    input:
        corpus=rules.cogex_data.output.corpus,
        tokenizer=rules.cogex_data.output.tokenizer,
        code=CODE("cogex.train"),
    output:
        model="results/{scale}/cogex/models/{fmt}-run{run}.safetensors",
    log:
        LOG("cogex.train", "{fmt}-run{run}"),
    benchmark:
        BENCH("cogex.train", "{fmt}-run{run}")
    wildcard_constraints:
        run=r"\d+",
        fmt="code|plan|nl",
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 1500,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("cogex.train", "seed", "data", "model", "lora", "train"),


use rule stage as cogex_evaluate with:
    input:
        model=rules.cogex_train.output.model,
        tasks=rules.cogex_data.output.tasks,
        tokenizer=rules.cogex_data.output.tokenizer,
        code=CODE("cogex.evaluate"),
    output:
        evals="results/{scale}/cogex/evals/{fmt}-run{run}.json",
    log:
        LOG("cogex.evaluate", "{fmt}-run{run}"),
    benchmark:
        BENCH("cogex.evaluate", "{fmt}-run{run}")
    wildcard_constraints:
        run=r"\d+",
        fmt="code|plan|nl",
    resources:
        mem_mb=lambda wc: 32000 if wc.scale == "paper" else 1500,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("cogex.evaluate", "seed", "data", "model", "lora", "search"),
