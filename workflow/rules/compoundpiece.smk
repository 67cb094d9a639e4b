# compoundpiece: data -> train (one job per run) -> evaluate -> metrics + tables -> figures -> claims
# (the metrics, figures and claims rules come from common.smk and papers/compoundpiece/report.py).
# Config: config/papers/compoundpiece.yaml. Code: src/paperdag/papers/compoundpiece/ (job lists: plan.py).

from paperdag.papers.compoundpiece import plan as compoundpiece_plan


use rule stage as compoundpiece_data with:
    input:
        code=CODE("compoundpiece.data"),
    output:
        data="results/{scale}/compoundpiece/data/data.npz",
    log:
        LOG("compoundpiece.data"),
    benchmark:
        BENCH("compoundpiece.data")
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB("compoundpiece.data", "seed", "data"),


use rule stage as compoundpiece_train with:
    input:
        data=rules.compoundpiece_data.output.data,
        code=CODE("compoundpiece.train"),
    output:
        model="results/{scale}/compoundpiece/models/run{run}.safetensors",
    log:
        LOG("compoundpiece.train", "run{run}"),
    benchmark:
        BENCH("compoundpiece.train", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1000,
        runtime=lambda wc: 60 if wc.scale == "paper" else 5,
    params:
        **JOB("compoundpiece.train", "seed", "train"),


use rule stage as compoundpiece_evaluate with:
    input:
        data=rules.compoundpiece_data.output.data,
        models=lambda w: compoundpiece_plan.model_files(w.scale, PAPER_CFG["compoundpiece"].params(w.scale)),
        code=CODE("compoundpiece.evaluate"),
    output:
        evals="results/{scale}/compoundpiece/evals/evals.json",
    log:
        LOG("compoundpiece.evaluate"),
    benchmark:
        BENCH("compoundpiece.evaluate")
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **JOB("compoundpiece.evaluate"),
