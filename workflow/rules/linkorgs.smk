# linkorgs: corpus (one job per run) -> train the name model, MiniLM embeddings (one job each per
# run) -> evaluate every method on the three applications (one job per run) -> metrics + tables ->
# figures -> claims (the metrics, figures and claims rules come from common.smk and
# papers/linkorgs/report.py). Config: config/papers/linkorgs.yaml. Code: src/paperdag/papers/linkorgs/.


use rule stage as linkorgs_corpus with:
    input:
        code=CODE("linkorgs.corpus"),
    output:
        corpus="results/{scale}/linkorgs/data/run{run}.json",
    log:
        LOG("linkorgs.corpus", "run{run}"),
    benchmark:
        BENCH("linkorgs.corpus", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **JOB("linkorgs.corpus", "seed", "corpus", "tasks"),


use rule stage as linkorgs_train with:
    input:
        corpus=rules.linkorgs_corpus.output.corpus,
        code=CODE("linkorgs.train"),
    output:
        model="results/{scale}/linkorgs/models/run{run}.safetensors",
    log:
        LOG("linkorgs.train", "run{run}"),
    benchmark:
        BENCH("linkorgs.train", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1500,
        runtime=lambda wc: 240 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("linkorgs.train", "seed", "model", "released"),


use rule stage as linkorgs_embed with:
    input:
        corpus=rules.linkorgs_corpus.output.corpus,
        code=CODE("linkorgs.embed"),
    output:
        emb="results/{scale}/linkorgs/embeddings/run{run}.npz",
    log:
        LOG("linkorgs.embed", "run{run}"),
    benchmark:
        BENCH("linkorgs.embed", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        **JOB("linkorgs.embed", "embed"),


use rule stage as linkorgs_evaluate with:
    input:
        corpus=rules.linkorgs_corpus.output.corpus,
        model=rules.linkorgs_train.output.model,
        emb=rules.linkorgs_embed.output.emb,
        code=CODE("linkorgs.evaluate"),
    output:
        evals="results/{scale}/linkorgs/evals/run{run}.json",
    log:
        LOG("linkorgs.evaluate", "run{run}"),
    benchmark:
        BENCH("linkorgs.evaluate", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        **JOB("linkorgs.evaluate", "seed", "model", "network", "levels"),
