# moi: data (part b's generated domains) -> train (one job per strategy and run: train + evaluate)
# and sensitivity (part a: one job per domain, SmolLM2 under the default and the domain system
# prompt) -> metrics + tables -> figures -> claims (common.smk and papers/moi/report.py).
# Config: config/papers/moi.yaml. Code: src/paperdag/papers/moi/ (job lists: plan.py).

from paperdag.papers.moi import plan as moi_plan


use rule stage as moi_data with:
    input:
        code=CODE("moi.data"),
    output:
        data="results/{scale}/moi/data/items.json",
    log:
        LOG("moi.data"),
    benchmark:
        BENCH("moi.data")
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "paper" else 500,
        runtime=lambda wc: 120 if wc.scale == "paper" else 5,
    params:
        **JOB("moi.data", "seed", "data"),


use rule stage as moi_train with:
    input:
        unpack(lambda w: moi_plan.train_lm_input(PAPER_CFG["moi"].params(w.scale))),
        data=rules.moi_data.output.data,
        code=CODE("moi.train"),
    output:
        model="results/{scale}/moi/models/{strategy}-run{run}.safetensors",
        evals="results/{scale}/moi/runs/{strategy}-run{run}.json",
    log:
        LOG("moi.train", "{strategy}-run{run}"),
    benchmark:
        BENCH("moi.train", "{strategy}-run{run}")
    wildcard_constraints:
        run=r"\d+",
        strategy="sequence|packing|balanced|balanced_domain|moi_nomask|moi_isolated|moi|moi_v1",
    resources:
        mem_mb=lambda wc: 60000 if wc.scale == "paper" else 800,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 10,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("moi.train", "seed", "data", "model", "train"),


use rule stage as moi_sensitivity with:
    input:
        unpack(lambda w: moi_plan.lm_input(PAPER_CFG["moi"].params(w.scale))),
        code=CODE("moi.sensitivity"),
    output:
        result="results/{scale}/moi/sensitivity/{domain}.json",
    log:
        LOG("moi.sensitivity", "{domain}"),
    benchmark:
        BENCH("moi.sensitivity", "{domain}")
    wildcard_constraints:
        domain="math|code|tool",
    resources:
        mem_mb=lambda wc: 20000 if wc.scale == "paper" else 2000,
        runtime=lambda wc: 120 if wc.scale == "paper" else 10,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("moi.sensitivity", "seed", "sensitivity"),
