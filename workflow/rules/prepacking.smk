# prepacking: plan (prompts of every batch; packer comparison) -> correctness (fp32 logits and
#   greedy generations) -> benchmark (prefill/TTFT time and peak memory per method: timings)
#   -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/prepacking.yaml. Code: src/paperdag/papers/prepacking/.
# The default scale runs SmolLM2-135M-Instruct from the shared asset (rule lm_asset,
# workflow/rules/shared.smk); smoke runs a tiny random Llama; paper loads hub ids on a GPU.


def _prepacking_check(scale):
    """Cross-key checks the JSON schema cannot express, at parse time."""
    p = PAPER_CFG["prepacking"].params(scale)
    where = f"config/papers/prepacking.yaml (scale {scale})"
    b, d = p["benchmark"], p["distributions"]
    for name in b["distributions"]:
        if name not in d:
            _fail(f"{where}: key benchmark.distributions names '{name}', which is not under distributions ({', '.join(d)})")
    if b["claim_distribution"] not in b["distributions"]:
        _fail(f"{where}: key benchmark.claim_distribution '{b['claim_distribution']}' is not in benchmark.distributions")
    c = p["correctness"]["distribution"]
    if c not in d or d[c]["kind"] == "hf":
        _fail(f"{where}: key correctness.distribution '{c}' must name a lognormal/constant entry of distributions")


for _s in SCALES:
    _prepacking_check(_s)


def prepacking_model(wildcards):
    """The shared LM asset where this scale loads a local model (else nothing)."""
    p = PAPER_CFG["prepacking"].params(wildcards.scale)
    if p["model"]["source"] == "local":
        return {"model": p["model"]["path"]}
    return {}


PAPER_FIGURES["prepacking"] = lambda scale: [
    f"results/{scale}/prepacking/figures/speedup.png",
    f"results/{scale}/prepacking/figures/time_memory.png",
]
PAPER_TABLES["prepacking"] = lambda scale: [
    f"results/{scale}/prepacking/tables/speedup.md",
    f"results/{scale}/prepacking/tables/packing.md",
]
PAPER_TIMING["prepacking"] = lambda scale: [f"results/{scale}/prepacking/timing.json"]


rule prepacking_plan:
    """Token ids of every benchmark and correctness batch (lengths from the configured
    distributions); the binpacking library vs first-fit decreasing on many sampled batches."""
    input:
        unpack(prepacking_model),
        code=code("prepacking", "data", "packing", "stages"),
    output:
        plan="results/{scale}/prepacking/data/plan.json",
        packing="results/{scale}/prepacking/data/packing_compare.json",
    params:
        stage="prepacking.plan",
        cfg=P("prepacking", "seed", "model", "distributions", "benchmark", "correctness", "packing_compare"),
        io=job_io,
    log:
        "results/{scale}/prepacking/logs/plan.log",
    benchmark:
        "results/{scale}/prepacking/benchmarks/plan.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        STAGE


rule prepacking_correctness:
    """fp32 logits of prepacked vs one-prompt-at-a-time prefill; greedy generations from the
    unpacked per-prompt caches vs generate() on the padded batch."""
    input:
        unpack(prepacking_model),
        plan=rules.prepacking_plan.output.plan,
        code=code("prepacking", "packing", "prepack", "stages", core=("lm",)),
    output:
        correctness="results/{scale}/prepacking/evals/correctness.json",
    params:
        stage="prepacking.correctness",
        cfg=P("prepacking", "seed", "model", "benchmark", "correctness"),
        io=job_io,
    log:
        "results/{scale}/prepacking/logs/correctness.log",
    benchmark:
        "results/{scale}/prepacking/benchmarks/correctness.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule prepacking_benchmark:
    """Prefill and TTFT time and peak memory of padding, prepacking and a per-prompt loop on every
    planned batch. Timings live here (bench/prefill.json), never in metrics.json's deterministic part."""
    input:
        unpack(prepacking_model),
        plan=rules.prepacking_plan.output.plan,
        code=code("prepacking", "packing", "prepack", "bench", "stages", core=("lm",)),
    output:
        bench="results/{scale}/prepacking/bench/prefill.json",
    params:
        stage="prepacking.benchmark",
        cfg=P("prepacking", "seed", "model", "benchmark"),
        io=job_io,
    log:
        "results/{scale}/prepacking/logs/benchmark.log",
    benchmark:
        "results/{scale}/prepacking/benchmarks/benchmark.tsv"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule prepacking_metrics:
    """metrics.json (deterministic), timing.json (measured times, speed-ups, memory; the
    `timing_*` claims inputs), the speed-up table and the packer comparison table."""
    input:
        plan=rules.prepacking_plan.output.plan,
        packing=rules.prepacking_plan.output.packing,
        correctness=rules.prepacking_correctness.output.correctness,
        bench=rules.prepacking_benchmark.output.bench,
        code=code("prepacking", "aggregate", "packing", "stages", core=("tables",)),
    output:
        metrics="results/{scale}/prepacking/metrics.json",
        timing="results/{scale}/prepacking/timing.json",
        speedup_csv="results/{scale}/prepacking/tables/speedup.csv",
        speedup_md=report("results/{scale}/prepacking/tables/speedup.md", caption="../report/prepacking/speedup_table.rst", category="prepacking", subcategory="tables"),
        packing_csv="results/{scale}/prepacking/tables/packing.csv",
        packing_md=report("results/{scale}/prepacking/tables/packing.md", caption="../report/prepacking/packing_table.rst", category="prepacking", subcategory="tables"),
    params:
        stage="prepacking.metrics",
        cfg=P("prepacking", "model", "benchmark"),
        io=job_io,
    log:
        "results/{scale}/prepacking/logs/metrics.log",
    benchmark:
        "results/{scale}/prepacking/benchmarks/metrics.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE


rule prepacking_figures:
    """Figures from metrics.json only."""
    input:
        metrics=rules.prepacking_metrics.output.metrics,
        timing=rules.prepacking_metrics.output.timing,
        code=code("prepacking", "plots", core=("plotting",)),
    output:
        speedup_png=report("results/{scale}/prepacking/figures/speedup.png", caption="../report/prepacking/speedup.rst", category="prepacking", subcategory="figures"),
        speedup_pdf="results/{scale}/prepacking/figures/speedup.pdf",
        time_png=report("results/{scale}/prepacking/figures/time_memory.png", caption="../report/prepacking/time_memory.rst", category="prepacking", subcategory="figures"),
        time_pdf="results/{scale}/prepacking/figures/time_memory.pdf",
    params:
        stage="prepacking.figures",
        cfg=P("prepacking", "distributions", "paper_reference"),
        io=job_io,
    log:
        "results/{scale}/prepacking/logs/figures.log",
    benchmark:
        "results/{scale}/prepacking/benchmarks/figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE
