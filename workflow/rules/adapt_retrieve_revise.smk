# adapt_retrieve_revise: data -> train (one job per run) -> evaluate -> metrics + tables -> figures -> claims
# (the metrics, figures and claims rules come from common.smk and papers/adapt_retrieve_revise/report.py).
# Config: config/papers/adapt_retrieve_revise.yaml. Code: src/paperdag/papers/adapt_retrieve_revise/ (job lists: plan.py).

from paperdag.papers.adapt_retrieve_revise import plan as adapt_retrieve_revise_plan


use rule stage as adapt_retrieve_revise_data with:
    input:
        code=CODE("adapt_retrieve_revise.data"),
    output:
        data="results/{scale}/adapt_retrieve_revise/data/data.npz",
    log:
        LOG("adapt_retrieve_revise.data"),
    benchmark:
        BENCH("adapt_retrieve_revise.data")
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB("adapt_retrieve_revise.data", "seed", "data"),


use rule stage as adapt_retrieve_revise_train with:
    input:
        data=rules.adapt_retrieve_revise_data.output.data,
        code=CODE("adapt_retrieve_revise.train"),
    output:
        model="results/{scale}/adapt_retrieve_revise/models/run{run}.safetensors",
    log:
        LOG("adapt_retrieve_revise.train", "run{run}"),
    benchmark:
        BENCH("adapt_retrieve_revise.train", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1000,
        runtime=lambda wc: 60 if wc.scale == "paper" else 5,
    params:
        **JOB("adapt_retrieve_revise.train", "seed", "train"),


use rule stage as adapt_retrieve_revise_evaluate with:
    input:
        data=rules.adapt_retrieve_revise_data.output.data,
        models=lambda w: adapt_retrieve_revise_plan.model_files(w.scale, PAPER_CFG["adapt_retrieve_revise"].params(w.scale)),
        code=CODE("adapt_retrieve_revise.evaluate"),
    output:
        evals="results/{scale}/adapt_retrieve_revise/evals/evals.json",
    log:
        LOG("adapt_retrieve_revise.evaluate"),
    benchmark:
        BENCH("adapt_retrieve_revise.evaluate")
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **JOB("adapt_retrieve_revise.evaluate"),
