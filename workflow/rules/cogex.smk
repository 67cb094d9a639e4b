# cogex: data -> train (one job per run) -> evaluate -> metrics + tables -> figures -> claims
# (the metrics, figures and claims rules come from common.smk and papers/cogex/report.py).
# Config: config/papers/cogex.yaml. Code: src/paperdag/papers/cogex/ (job lists: plan.py).

from paperdag.papers.cogex import plan as cogex_plan


use rule stage as cogex_data with:
    input:
        code=CODE("cogex.data"),
    output:
        data="results/{scale}/cogex/data/data.npz",
    log:
        LOG("cogex.data"),
    benchmark:
        BENCH("cogex.data")
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB("cogex.data", "seed", "data"),


use rule stage as cogex_train with:
    input:
        data=rules.cogex_data.output.data,
        code=CODE("cogex.train"),
    output:
        model="results/{scale}/cogex/models/run{run}.safetensors",
    log:
        LOG("cogex.train", "run{run}"),
    benchmark:
        BENCH("cogex.train", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1000,
        runtime=lambda wc: 60 if wc.scale == "paper" else 5,
    params:
        **JOB("cogex.train", "seed", "train"),


use rule stage as cogex_evaluate with:
    input:
        data=rules.cogex_data.output.data,
        models=lambda w: cogex_plan.model_files(w.scale, PAPER_CFG["cogex"].params(w.scale)),
        code=CODE("cogex.evaluate"),
    output:
        evals="results/{scale}/cogex/evals/evals.json",
    log:
        LOG("cogex.evaluate"),
    benchmark:
        BENCH("cogex.evaluate")
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **JOB("cogex.evaluate"),
