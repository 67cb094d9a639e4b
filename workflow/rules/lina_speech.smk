# lina_speech: data (espeak-ng speech + residual k-means codec) -> pretrain (one job per run) -> adapt
# (one job per run and held-out voice) and bench (decode cost, GLA vs Transformer) -> metrics +
# tables -> figures -> claims (the metrics, figures and claims rules come from common.smk and
# papers/lina_speech/report.py).
# Config: config/papers/lina_speech.yaml. Code: src/paperdag/papers/lina_speech/ (job lists: plan.py).

from paperdag.papers.lina_speech import plan as lina_speech_plan


use rule stage as lina_speech_data with:
    input:
        code=CODE("lina_speech.data"),
    output:
        data="results/{scale}/lina_speech/data/corpus.npz",
        info="results/{scale}/lina_speech/data/info.json",
    log:
        LOG("lina_speech.data"),
    benchmark:
        BENCH("lina_speech.data")
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 2000,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 10,
    params:
        **JOB("lina_speech.data", "seed", "data", "audio", "codec"),


use rule stage as lina_speech_pretrain with:
    input:
        data=rules.lina_speech_data.output.data,
        code=CODE("lina_speech.pretrain"),
    output:
        model="results/{scale}/lina_speech/models/run{run}.safetensors",
    log:
        LOG("lina_speech.pretrain", "run{run}"),
    benchmark:
        BENCH("lina_speech.pretrain", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    threads: 1
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 1500,
        runtime=lambda wc: 4320 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("lina_speech.pretrain", "seed", "codec", "model", "train"),


use rule stage as lina_speech_adapt with:
    input:
        data=rules.lina_speech_data.output.data,
        model=rules.lina_speech_pretrain.output.model,
        code=CODE("lina_speech.adapt"),
    output:
        evals="results/{scale}/lina_speech/evals/run{run}-{voice}.json",
        states="results/{scale}/lina_speech/states/run{run}-{voice}.safetensors",
        samples=directory("results/{scale}/lina_speech/samples/run{run}-{voice}"),
    log:
        LOG("lina_speech.adapt", "run{run}-{voice}"),
    benchmark:
        BENCH("lina_speech.adapt", "run{run}-{voice}")
    wildcard_constraints:
        run=r"\d+",
        voice=r"[a-z0-9_]+",
    threads: 1
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 1500,
        runtime=lambda wc: 600 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("lina_speech.adapt", "seed", "audio", "codec", "model", "train", "adapt", "eval"),


use rule stage as lina_speech_bench with:
    input:
        code=CODE("lina_speech.bench"),
    output:
        bench="results/{scale}/lina_speech/evals/bench.json",
    log:
        LOG("lina_speech.bench"),
    benchmark:
        BENCH("lina_speech.bench")
    threads: 1
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 1500,
        runtime=lambda wc: 120 if wc.scale == "paper" else 10,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("lina_speech.bench", "seed", "model", "bench"),
