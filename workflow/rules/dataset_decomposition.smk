# dataset_decomposition: fetch (read + tokenise the corpus once) -> decompose (power-of-two
# buckets) -> train (one job per method: concat-and-chunk, + document mask, DD with each length
# curriculum) and cost (seconds per step by sequence length) -> metrics + tables -> figures ->
# claims (common.smk).
# Config: config/papers/dataset_decomposition.yaml. Code: src/paperdag/papers/dataset_decomposition/.

DD = "dataset_decomposition"


def dd_methods(wildcards):
    return cfgval(DD, wildcards.scale, "run_methods")


PAPER_FIGURES[DD] = lambda scale: [
    f"results/{scale}/{DD}/figures/{n}.png" for n in ("length_hist", "loss_vs_tokens", "loss_vs_seconds", "cost_model")
]
PAPER_TABLES[DD] = lambda scale: [
    f"results/{scale}/{DD}/tables/{n}.md" for n in ("methods", "curriculum", "cost_model")
]


rule dataset_decomposition_fetch:
    """Real English documents (Debian dict-gcide entries; hub dataset at paper scale), a tokenizer
    (BPE trained on them, or the paper's), every document tokenised once with an EOT token."""
    input:
        code=code(DD, "corpus", "stages"),
    output:
        corpus="results/{scale}/dataset_decomposition/data/corpus.npz",
        tokenizer="results/{scale}/dataset_decomposition/data/tokenizer.json",
    params:
        stage="dataset_decomposition.fetch",
        cfg=P(DD, "data"),
        io=job_io,
    log:
        "results/{scale}/dataset_decomposition/logs/fetch.log",
    benchmark:
        "results/{scale}/dataset_decomposition/benchmarks/fetch.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 10,
    shell:
        STAGE


rule dataset_decomposition_decompose:
    """Each training document cut into power-of-two pieces of one document (buckets D_i)."""
    input:
        corpus=rules.dataset_decomposition_fetch.output.corpus,
        code=code(DD, "decompose", "stages"),
    output:
        buckets="results/{scale}/dataset_decomposition/data/buckets.npz",
        stats="results/{scale}/dataset_decomposition/data/decomposition.json",
    params:
        stage="dataset_decomposition.decompose",
        cfg=P(DD, "decompose", "train"),
        io=job_io,
    log:
        "results/{scale}/dataset_decomposition/logs/decompose.log",
    benchmark:
        "results/{scale}/dataset_decomposition/benchmarks/decompose.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 64000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 10,
    shell:
        STAGE


rule dataset_decomposition_train:
    """One method trained from scratch on the same number of tokens per step and in total;
    validation loss at fixed steps; resumes from safetensors checkpoints."""
    input:
        corpus=rules.dataset_decomposition_fetch.output.corpus,
        buckets=rules.dataset_decomposition_decompose.output.buckets,
        code=code(DD, "curriculum", "decompose", "model", "train", "stages", core=("resume",)),
    output:
        run="results/{scale}/dataset_decomposition/runs/{method}.json",
        timing="results/{scale}/dataset_decomposition/runs/{method}.timing.json",
        model="results/{scale}/dataset_decomposition/models/{method}.safetensors",
    params:
        stage="dataset_decomposition.train",
        cfg=P(DD, "decompose", "mixture", "model", "train", "methods"),
        io=job_io,
    log:
        "results/{scale}/dataset_decomposition/logs/train-{method}.log",
    benchmark:
        "results/{scale}/dataset_decomposition/benchmarks/train-{method}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 80000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 4320 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule dataset_decomposition_cost:
    """Measured seconds and analytic FLOPs per step of a fixed number of tokens, by sequence
    length (paper Fig. 7)."""
    input:
        corpus=rules.dataset_decomposition_fetch.output.corpus,
        code=code(DD, "decompose", "model", "train", "stages"),
    output:
        analytic="results/{scale}/dataset_decomposition/cost/analytic.json",
        measured="results/{scale}/dataset_decomposition/cost/measured.json",
    params:
        stage="dataset_decomposition.cost",
        cfg=P(DD, "decompose", "model", "train", "cost"),
        io=job_io,
    log:
        "results/{scale}/dataset_decomposition/logs/cost.log",
    benchmark:
        "results/{scale}/dataset_decomposition/benchmarks/cost.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 80000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 60 if wc.scale == "paper" else 10,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule dataset_decomposition_metrics:
    """metrics.json (deterministic), benchmarks.json (measured seconds), curves and tables."""
    input:
        runs=lambda wc: [f"results/{wc.scale}/dataset_decomposition/runs/{m}.json" for m in dd_methods(wc)],
        timings=lambda wc: [f"results/{wc.scale}/dataset_decomposition/runs/{m}.timing.json" for m in dd_methods(wc)],
        stats=rules.dataset_decomposition_decompose.output.stats,
        analytic=rules.dataset_decomposition_cost.output.analytic,
        measured=rules.dataset_decomposition_cost.output.measured,
        code=code(DD, "aggregate", "curriculum", "stages", core=("tables",)),
    output:
        metrics="results/{scale}/dataset_decomposition/metrics.json",
        benchmarks="results/{scale}/dataset_decomposition/benchmarks.json",
        curves="results/{scale}/dataset_decomposition/curves/val_loss.csv",
        timing_curves="results/{scale}/dataset_decomposition/curves/val_loss_seconds.csv",
        main_csv="results/{scale}/dataset_decomposition/tables/methods.csv",
        main_md=report("results/{scale}/dataset_decomposition/tables/methods.md", caption="../report/dataset_decomposition/methods.rst", category="dataset_decomposition", subcategory="tables"),
        curriculum_csv="results/{scale}/dataset_decomposition/tables/curriculum.csv",
        curriculum_md=report("results/{scale}/dataset_decomposition/tables/curriculum.md", caption="../report/dataset_decomposition/curriculum.rst", category="dataset_decomposition", subcategory="tables"),
        cost_csv="results/{scale}/dataset_decomposition/tables/cost_model.csv",
        cost_md=report("results/{scale}/dataset_decomposition/tables/cost_model.md", caption="../report/dataset_decomposition/cost_table.rst", category="dataset_decomposition", subcategory="tables"),
    params:
        stage="dataset_decomposition.metrics",
        cfg=P(DD, "decompose", "train", "methods", "run_methods", "baseline", "dm_baseline", "main_dd", "ablation", "paper_reference"),
        io=job_io,
    log:
        "results/{scale}/dataset_decomposition/logs/metrics.log",
    benchmark:
        "results/{scale}/dataset_decomposition/benchmarks/metrics.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE


rule dataset_decomposition_figures:
    """Figures from metrics, benchmarks and curves only: rerunning them never retrains."""
    input:
        metrics=rules.dataset_decomposition_metrics.output.metrics,
        benchmarks=rules.dataset_decomposition_metrics.output.benchmarks,
        curves=rules.dataset_decomposition_metrics.output.curves,
        timing_curves=rules.dataset_decomposition_metrics.output.timing_curves,
        code=code(DD, "plots", "curriculum", core=("plotting",)),
    output:
        hist_png=report("results/{scale}/dataset_decomposition/figures/length_hist.png", caption="../report/dataset_decomposition/length_hist.rst", category="dataset_decomposition", subcategory="figures"),
        hist_pdf="results/{scale}/dataset_decomposition/figures/length_hist.pdf",
        tokens_png=report("results/{scale}/dataset_decomposition/figures/loss_vs_tokens.png", caption="../report/dataset_decomposition/loss_vs_tokens.rst", category="dataset_decomposition", subcategory="figures"),
        tokens_pdf="results/{scale}/dataset_decomposition/figures/loss_vs_tokens.pdf",
        seconds_png=report("results/{scale}/dataset_decomposition/figures/loss_vs_seconds.png", caption="../report/dataset_decomposition/loss_vs_seconds.rst", category="dataset_decomposition", subcategory="figures"),
        seconds_pdf="results/{scale}/dataset_decomposition/figures/loss_vs_seconds.pdf",
        cost_png=report("results/{scale}/dataset_decomposition/figures/cost_model.png", caption="../report/dataset_decomposition/cost_model.rst", category="dataset_decomposition", subcategory="figures"),
        cost_pdf="results/{scale}/dataset_decomposition/figures/cost_model.pdf",
    params:
        stage="dataset_decomposition.figures",
        cfg=P(DD, "methods", "run_methods", "train", "paper_reference"),
        io=job_io,
    log:
        "results/{scale}/dataset_decomposition/logs/figures.log",
    benchmark:
        "results/{scale}/dataset_decomposition/benchmarks/figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE
