# catn: data -> train (one network per job) -> evaluate (probes, one job per seed-set)
#       -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/catn.yaml. Code: src/paperdag/papers/catn/.

from paperdag.papers.catn import plan as catn_plan


def catn_set_models(wildcards):
    """The training groups of one seed-set that have at least one network."""
    p = PAPER_CFG["catn"].params(wildcards.scale)
    groups = catn_plan.set_models(p, int(wildcards.set))
    return [f"results/{wildcards.scale}/catn/models/set{wildcards.set}/{g}" for g, names in groups.items() if names]


def catn_sets(wildcards):
    n = cfgval("catn", wildcards.scale, "seed_sets")
    return [f"results/{wildcards.scale}/catn/evals/set{s}.json" for s in range(n)]


PAPER_FIGURES["catn"] = lambda scale: [
    f"results/{scale}/catn/figures/linear_probe.png",
    f"results/{scale}/catn/figures/weight_decay.png",
]
PAPER_TABLES["catn"] = lambda scale: [
    f"results/{scale}/catn/tables/linear_probe.md",
    f"results/{scale}/catn/tables/weight_decay.md",
]


rule catn_data:
    """sklearn digits (offline) or hub datasets (paper scale) -> source/task/dist splits."""
    input:
        code=code("catn", "data", "stages"),
    output:
        data="results/{scale}/catn/data/splits.npz",
    params:
        stage="catn.data",
        cfg=P("catn", "data"),
        io=job_io,
    log:
        "results/{scale}/catn/logs/data.log",
    benchmark:
        "results/{scale}/catn/benchmarks/data.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        STAGE


rule catn_train:
    """The training episodes of one group (members | wide | joint | wd) of seed-set {set}; each
    network is named member|wide<n>|joint<n>-wd<weight decay>-s<seed>."""
    input:
        data=rules.catn_data.output.data,
        code=code("catn", "models", "train", "stages", core=("resume",)),
    output:
        models=directory("results/{scale}/catn/models/set{set}/{group}"),
    wildcard_constraints:
        group="members|wide|joint|wd",
    params:
        stage="catn.train",
        cfg=P("catn", "seed", "cat_ns", "wide_ns", "joint_ns", "weight_decays", "model", "train"),
        io=job_io,
    log:
        "results/{scale}/catn/logs/train-set{set}-{group}.log",
    benchmark:
        "results/{scale}/catn/benchmarks/train-set{set}-{group}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule catn_evaluate:
    """Features of every network of seed-set {set}; CATn, wide, joint, random and pixel
    representations; linear probes on the source task, a task shift and a distribution shift."""
    input:
        data=rules.catn_data.output.data,
        models=catn_set_models,
        code=code("catn", "models", "train", "probe", "stages"),
    output:
        evals="results/{scale}/catn/evals/set{set}.json",
    params:
        stage="catn.evaluate",
        cfg=P("catn", "seed", "cat_ns", "wide_ns", "joint_ns", "weight_decays", "controls", "model", "train", "probe"),
        io=job_io,
    log:
        "results/{scale}/catn/logs/evaluate-set{set}.log",
    benchmark:
        "results/{scale}/catn/benchmarks/evaluate-set{set}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    shell:
        STAGE


rule catn_metrics:
    """Mean ± std over seed-sets -> metrics.json, the probe table and the Table 1 analogue."""
    input:
        evals=catn_sets,
        code=code("catn", "aggregate", "stages", core=("stats", "tables")),
    output:
        metrics="results/{scale}/catn/metrics.json",
        probe_csv="results/{scale}/catn/tables/linear_probe.csv",
        probe_md=report("results/{scale}/catn/tables/linear_probe.md", caption="../report/catn/linear_probe_table.rst", category="catn", subcategory="tables"),
        wd_csv="results/{scale}/catn/tables/weight_decay.csv",
        wd_md=report("results/{scale}/catn/tables/weight_decay.md", caption="../report/catn/weight_decay_table.rst", category="catn", subcategory="tables"),
    params:
        stage="catn.metrics",
        cfg=P("catn", "claims_n", "weight_decays", "paper_reference"),
        io=job_io,
    log:
        "results/{scale}/catn/logs/metrics.log",
    benchmark:
        "results/{scale}/catn/benchmarks/metrics.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        STAGE


rule catn_figures:
    """Figures from metrics.json only: rerunning them never retrains."""
    input:
        metrics=rules.catn_metrics.output.metrics,
        code=code("catn", "plots", core=("plotting",)),
    output:
        probe_png=report("results/{scale}/catn/figures/linear_probe.png", caption="../report/catn/linear_probe.rst", category="catn", subcategory="figures"),
        probe_pdf="results/{scale}/catn/figures/linear_probe.pdf",
        wd_png=report("results/{scale}/catn/figures/weight_decay.png", caption="../report/catn/weight_decay.rst", category="catn", subcategory="figures"),
        wd_pdf="results/{scale}/catn/figures/weight_decay.pdf",
    params:
        stage="catn.figures",
        cfg=P("catn", "paper_reference"),
        io=job_io,
    log:
        "results/{scale}/catn/logs/figures.log",
    benchmark:
        "results/{scale}/catn/benchmarks/figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE
