# layer_swapping: data -> train (one job per expert math | lang | joint and run) -> evaluate_base
# (the base model, once) and evaluate (per run: layer swaps, soup, TIES, experts, joint SFT) ->
# metrics + tables -> figures -> claims (the metrics, figures and claims rules come from common.smk
# and papers/layer_swapping/report.py).
# Config: config/papers/layer_swapping.yaml. Code: src/paperdag/papers/layer_swapping/ (job lists: plan.py).

from paperdag.papers.layer_swapping import plan as layer_swapping_plan


use rule stage as layer_swapping_data with:
    input:
        code=CODE("layer_swapping.data"),
    output:
        data="results/{scale}/layer_swapping/data/data.json",
    log:
        LOG("layer_swapping.data"),
    benchmark:
        BENCH("layer_swapping.data")
    resources:
        mem_mb=lambda wc: 8000 if wc.scale == "paper" else 500,
        runtime=lambda wc: 60 if wc.scale == "paper" else 5,
    params:
        **JOB("layer_swapping.data", "seed", "data"),


use rule stage as layer_swapping_train with:
    input:
        unpack(lambda w: layer_swapping_plan.lm_input(PAPER_CFG["layer_swapping"].params(w.scale))),
        data=rules.layer_swapping_data.output.data,
        code=CODE("layer_swapping.train"),
    output:
        model="results/{scale}/layer_swapping/models/{expert}/run{run}.safetensors",
    log:
        LOG("layer_swapping.train", "{expert}-run{run}"),
    benchmark:
        BENCH("layer_swapping.train", "{expert}-run{run}")
    wildcard_constraints:
        expert="math|lang|joint",
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 160000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("layer_swapping.train", "seed", "model", "train"),


use rule stage as layer_swapping_evaluate_base with:
    input:
        unpack(lambda w: layer_swapping_plan.lm_input(PAPER_CFG["layer_swapping"].params(w.scale))),
        data=rules.layer_swapping_data.output.data,
        code=CODE("layer_swapping.evaluate_base"),
    output:
        evals="results/{scale}/layer_swapping/evals/base.json",
    log:
        LOG("layer_swapping.evaluate_base"),
    benchmark:
        BENCH("layer_swapping.evaluate_base")
    resources:
        mem_mb=lambda wc: 40000 if wc.scale == "paper" else 2000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("layer_swapping.evaluate_base", "model", "eval"),


use rule stage as layer_swapping_evaluate with:
    input:
        unpack(lambda w: layer_swapping_plan.lm_input(PAPER_CFG["layer_swapping"].params(w.scale))),
        unpack(lambda w: layer_swapping_plan.eval_inputs(w.scale, PAPER_CFG["layer_swapping"].params(w.scale), w.run)),
        data=rules.layer_swapping_data.output.data,
        code=CODE("layer_swapping.evaluate"),
    output:
        evals="results/{scale}/layer_swapping/evals/run{run}.json",
    log:
        LOG("layer_swapping.evaluate", "run{run}"),
    benchmark:
        BENCH("layer_swapping.evaluate", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 160000 if wc.scale == "paper" else 4000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 40,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("layer_swapping.evaluate", "model", "merge", "eval"),
