# pleas: data -> train (models A and B of one pair, per setting and seed) -> merge (every method
#        at every budget for that pair) -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/pleas.yaml. Code: src/paperdag/papers/pleas/ (outputs: report.py).


# Two settings (different label spaces; shared label space across domains) and public data.
use rule stage as pleas_data with:
    input:
        code=CODE("pleas.data"),
    output:
        data="results/{scale}/pleas/data/splits.npz",
    log:
        LOG("pleas.data"),
    benchmark:
        BENCH("pleas.data")
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "paper" else 1000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 10,
    params:
        **JOB("pleas.data", "data"),


# Models A and B of pair {seed} in setting {setting} (different seeds; at paper scale two
# hub checkpoints), each on its own task, BatchNorm statistics re-estimated on its own data.
use rule stage as pleas_train with:
    input:
        data=rules.pleas_data.output.data,
        code=CODE("pleas.train"),
    output:
        model_a="results/{scale}/pleas/models/{setting}/seed{seed}/a.safetensors",
        model_b="results/{scale}/pleas/models/{setting}/seed{seed}/b.safetensors",
    log:
        LOG("pleas.train", "{setting}-seed{seed}"),
    benchmark:
        BENCH("pleas.train", "{setting}-seed{seed}")
    wildcard_constraints:
        setting="labels|domains",
        seed=r"\d+",
    resources:
        mem_mb=lambda wc, attempt: (24000 if wc.scale == "paper" else 1500) * attempt,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("pleas.train", "device", "seed", "model", "train"),


# Every method at every FLOPs budget for pair {seed} of setting {setting}: matching,
# partial merge, least squares, BatchNorm re-estimation, evaluation.
use rule stage as pleas_merge with:
    input:
        data=rules.pleas_data.output.data,
        model_a=rules.pleas_train.output.model_a,
        model_b=rules.pleas_train.output.model_b,
        code=CODE("pleas.merge"),
    output:
        evals="results/{scale}/pleas/evals/{setting}/seed{seed}.json",
    log:
        LOG("pleas.merge", "{setting}-seed{seed}"),
    benchmark:
        BENCH("pleas.merge", "{setting}-seed{seed}")
    wildcard_constraints:
        setting="labels|domains",
        seed=r"\d+",
    resources:
        mem_mb=lambda wc: 48000 if wc.scale == "paper" else 2000,
        runtime=lambda wc: 720 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("pleas.merge", "device", "seed", "merge"),
