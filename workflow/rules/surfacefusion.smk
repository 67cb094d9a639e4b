# surfacefusion: data (G2P from espeak-ng) -> train (one job per variant and run) -> evaluate (one job
# per run, every variant) -> metrics + tables -> figures -> claims (the metrics, figures and claims rules
# come from common.smk and papers/surfacefusion/report.py).
# Config: config/papers/surfacefusion.yaml. Code: src/paperdag/papers/surfacefusion/ (job lists: plan.py).

import json

from paperdag.papers.surfacefusion import plan as surfacefusion_plan


use rule stage as surfacefusion_data with:
    input:
        code=CODE("surfacefusion.data"),
    output:
        data="results/{scale}/surfacefusion/data/splits.json",
    log:
        LOG("surfacefusion.data"),
    benchmark:
        BENCH("surfacefusion.data")
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "paper" else 1000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 5,
    params:
        **JOB("surfacefusion.data", "seed", "data"),


use rule stage as surfacefusion_train with:
    input:
        data=rules.surfacefusion_data.output.data,
        code=CODE("surfacefusion.train"),
    output:
        model="results/{scale}/surfacefusion/models/{variant}-run{run}.safetensors",
    log:
        LOG("surfacefusion.train", "{variant}-run{run}"),
    benchmark:
        BENCH("surfacefusion.train", "{variant}-run{run}")
    wildcard_constraints:
        run=r"\d+",
        variant="vanilla|ef|fg|sf_hard|sf_soft",
    resources:
        mem_mb=lambda wc: 32000 if wc.scale == "paper" else 1000,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 15,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB(
            "surfacefusion.train",
            cfg=lambda w: json.dumps(
                surfacefusion_plan.train_cfg(PAPER_CFG["surfacefusion"].params(w.scale), w.variant), sort_keys=True
            ),
        ),


use rule stage as surfacefusion_evaluate with:
    input:
        data=rules.surfacefusion_data.output.data,
        models=lambda w: surfacefusion_plan.run_models(w.scale, PAPER_CFG["surfacefusion"].params(w.scale), int(w.run)),
        code=CODE("surfacefusion.evaluate"),
    output:
        evals="results/{scale}/surfacefusion/evals/run{run}.json",
    log:
        LOG("surfacefusion.evaluate", "run{run}"),
    benchmark:
        BENCH("surfacefusion.evaluate", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "paper" else 1000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 15,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("surfacefusion.evaluate", "seed", "variants", "data", "model", "fusion", "eval"),
