# pleas: data -> train (models A and B of one pair, per setting and seed) -> merge (every method
#        at every budget for that pair) -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/pleas.yaml. Code: src/paperdag/papers/pleas/.


def pleas_evals(wildcards):
    p = PAPER_CFG["pleas"].params(wildcards.scale)
    return [f"results/{wildcards.scale}/pleas/evals/{s}/seed{i}.json" for s in p["settings"] for i in range(p["seeds"])]


def pleas_tables(scale):
    return [f"results/{scale}/pleas/tables/{s}.md" for s in cfgval("pleas", scale, "settings")]


PAPER_FIGURES["pleas"] = lambda scale: [f"results/{scale}/pleas/figures/accuracy_vs_budget.png"]
PAPER_TABLES["pleas"] = pleas_tables


rule pleas_data:
    """Two settings (different label spaces; shared label space across domains) and public data."""
    input:
        code=code("pleas", "data", "stages"),
    output:
        data="results/{scale}/pleas/data/splits.npz",
    params:
        stage="pleas.data",
        cfg=P("pleas", "data"),
        io=job_io,
    log:
        "results/{scale}/pleas/logs/data.log",
    benchmark:
        "results/{scale}/pleas/benchmarks/data.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "paper" else 1000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 10,
    shell:
        STAGE


rule pleas_train:
    """Models A and B of pair {seed} in setting {setting} (different seeds; at paper scale two
    hub checkpoints), each on its own task, BatchNorm statistics re-estimated on its own data."""
    input:
        data=rules.pleas_data.output.data,
        code=code("pleas", "nets", "train", "bn", "data", "stages", core=("resume",)),
    output:
        model_a="results/{scale}/pleas/models/{setting}/seed{seed}/a.safetensors",
        model_b="results/{scale}/pleas/models/{setting}/seed{seed}/b.safetensors",
    wildcard_constraints:
        setting="labels|domains",
        seed=r"\d+",
    params:
        stage="pleas.train",
        cfg=P("pleas", "device", "seed", "model", "train"),
        io=job_io,
    log:
        "results/{scale}/pleas/logs/train-{setting}-seed{seed}.log",
    benchmark:
        "results/{scale}/pleas/benchmarks/train-{setting}-seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: (24000 if wc.scale == "paper" else 1500) * attempt,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule pleas_merge:
    """Every method at every FLOPs budget for pair {seed} of setting {setting}: matching,
    partial merge, least squares, BatchNorm re-estimation, evaluation."""
    input:
        data=rules.pleas_data.output.data,
        model_a=rules.pleas_train.output.model_a,
        model_b=rules.pleas_train.output.model_b,
        code=code("pleas", "nets", "train", "bn", "merge", "evaluate", "data", "stages"),
    output:
        evals="results/{scale}/pleas/evals/{setting}/seed{seed}.json",
    wildcard_constraints:
        setting="labels|domains",
        seed=r"\d+",
    params:
        stage="pleas.merge",
        cfg=P("pleas", "device", "seed", "merge"),
        io=job_io,
    log:
        "results/{scale}/pleas/logs/merge-{setting}-seed{seed}.log",
    benchmark:
        "results/{scale}/pleas/benchmarks/merge-{setting}-seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 48000 if wc.scale == "paper" else 2000,
        runtime=lambda wc: 720 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule pleas_metrics:
    """Mean ± std over model pairs -> metrics.json, one per-budget table per setting."""
    input:
        evals=pleas_evals,
        code=code("pleas", "aggregate", "data", "stages", core=("stats", "tables")),
    output:
        metrics="results/{scale}/pleas/metrics.json",
        curves_csv="results/{scale}/pleas/tables/curves.csv",
        labels_csv="results/{scale}/pleas/tables/labels.csv",
        labels_md=report("results/{scale}/pleas/tables/labels.md", caption="../report/pleas/table.rst", category="pleas", subcategory="tables"),
        domains_csv="results/{scale}/pleas/tables/domains.csv",
        domains_md=report("results/{scale}/pleas/tables/domains.md", caption="../report/pleas/table.rst", category="pleas", subcategory="tables"),
    params:
        stage="pleas.metrics",
        cfg=P("pleas", "claims_matching", "claims_small_budget", "claims_large_budget"),
        io=job_io,
    log:
        "results/{scale}/pleas/logs/metrics.log",
    benchmark:
        "results/{scale}/pleas/benchmarks/metrics.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        STAGE


rule pleas_figures:
    """The signature figure from metrics.json only (rerunning it never retrains)."""
    input:
        metrics=rules.pleas_metrics.output.metrics,
        code=code("pleas", "plots", core=("plotting",)),
    output:
        budget_png=report("results/{scale}/pleas/figures/accuracy_vs_budget.png", caption="../report/pleas/accuracy_vs_budget.rst", category="pleas", subcategory="figures"),
        budget_pdf="results/{scale}/pleas/figures/accuracy_vs_budget.pdf",
    params:
        stage="pleas.figures",
        cfg=P("pleas", "settings"),
        io=job_io,
    log:
        "results/{scale}/pleas/logs/figures.log",
    benchmark:
        "results/{scale}/pleas/benchmarks/figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE
