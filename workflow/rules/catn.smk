# catn: data -> train (one job per training group and seed-set) -> evaluate (probes, one job per
# seed-set) -> metrics + tables -> figures -> claims (metrics, figures and claims rules: common.smk).
# Config: config/papers/catn.yaml. Code: src/paperdag/papers/catn/ (job lists: plan.py).

from paperdag.papers.catn import plan as catn_plan


use rule stage as catn_data with:
    input:
        code=CODE("catn.data"),
    output:
        data="results/{scale}/catn/data/splits.npz",
    log:
        LOG("catn.data"),
    benchmark:
        BENCH("catn.data")
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        **JOB("catn.data", "data"),


use rule stage as catn_train with:
    input:
        data=rules.catn_data.output.data,
        code=CODE("catn.train"),
    output:
        models=directory("results/{scale}/catn/models/set{set}/{group}"),
    log:
        LOG("catn.train", "set{set}-{group}"),
    benchmark:
        BENCH("catn.train", "set{set}-{group}")
    wildcard_constraints:
        group="members|wide|joint|wd",
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("catn.train", "seed", "cat_ns", "wide_ns", "joint_ns", "weight_decays", "model", "train"),


use rule stage as catn_evaluate with:
    input:
        data=rules.catn_data.output.data,
        models=lambda w: catn_plan.set_model_dirs(w.scale, PAPER_CFG["catn"].params(w.scale), int(w.set)),
        code=CODE("catn.evaluate"),
    output:
        evals="results/{scale}/catn/evals/set{set}.json",
    log:
        LOG("catn.evaluate", "set{set}"),
    benchmark:
        BENCH("catn.evaluate", "set{set}")
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        **JOB(
            "catn.evaluate",
            "seed",
            "cat_ns",
            "wide_ns",
            "joint_ns",
            "weight_decays",
            "controls",
            "model",
            "train",
            "probe",
        ),
