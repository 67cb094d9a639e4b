# conjugate_prompting: synthetic in-context regression (pretrain on D_mix -> finetune on D_disc ->
# evaluate with Bayes references and conjugate prompts) and the LM probe (tiny stand-in or the
# shared SmolLM2 asset -> English instruction LoRA -> ICL vs instruction-following probe per
# language) -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/conjugate_prompting.yaml. Code: src/paperdag/papers/conjugate_prompting/.

CP = "conjugate_prompting"


def cp_lm(wildcards):
    return cfgval(CP, wildcards.scale, "lm")


def cp_lm_train_params(wildcards):
    """Only the LM keys that building / fine-tuning read, so probe-only edits do not retrain."""
    lm = cp_lm(wildcards)
    return json.dumps({"lm": {k: lm[k] for k in ("source", "seed", "tiny", "finetune")}}, sort_keys=True)


def cp_lm_base(wildcards):
    lm = cp_lm(wildcards)
    if lm["source"] == "tiny":
        return f"results/{wildcards.scale}/{CP}/lm/tiny_base"
    if lm["source"] == "asset":
        return lm["asset"]
    return []


def cp_probe_inputs(wildcards):
    lm = cp_lm(wildcards)
    if lm["source"] == "hub":
        return {}
    return {"base": cp_lm_base(wildcards), "adapter": f"results/{wildcards.scale}/{CP}/lm/adapter.safetensors"}


def cp_metrics_inputs(wildcards):
    d = {"losses": f"results/{wildcards.scale}/{CP}/evals/synthetic.npz"}
    if cp_lm(wildcards)["enabled"]:
        d["lm"] = f"results/{wildcards.scale}/{CP}/evals/lm_probe.json"
    return d


PAPER_FIGURES[CP] = lambda scale: [
    f"results/{scale}/{CP}/figures/loss_vs_examples.png",
    f"results/{scale}/{CP}/figures/conjugate_gamma.png",
    f"results/{scale}/{CP}/figures/lm_probe.png",
]
PAPER_TABLES[CP] = lambda scale: [
    f"results/{scale}/{CP}/tables/synthetic_loss.md",
    f"results/{scale}/{CP}/tables/conjugate_gamma.md",
    f"results/{scale}/{CP}/tables/lm_probe.md",
]


rule conjugate_prompting_pretrain:
    """Pre-train the in-context regressor on the mixture D_mix (resumable)."""
    input:
        code=code(CP, "icl", "stages", core=("resume",)),
    output:
        model="results/{scale}/conjugate_prompting/models/pretrained.safetensors",
    params:
        stage="conjugate_prompting.pretrain",
        cfg=P(CP, "synthetic"),
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/pretrain.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/pretrain.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=lambda wc: 1440 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule conjugate_prompting_finetune:
    """Fine-tune a copy on the discrete tasks D_disc; keep the configured snapshots."""
    input:
        model=rules.conjugate_prompting_pretrain.output.model,
        code=code(CP, "icl", "stages", core=("resume",)),
    output:
        models=directory("results/{scale}/conjugate_prompting/models/finetuned"),
    params:
        stage="conjugate_prompting.finetune",
        cfg=P(CP, "synthetic"),
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/finetune.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/finetune.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule conjugate_prompting_evaluate:
    """Losses per prompt and prefix of every model under every transform, and of ridge,
    discrete regression and the posterior mixture, on fresh D_cont and D_disc prompts."""
    input:
        model=rules.conjugate_prompting_pretrain.output.model,
        models=rules.conjugate_prompting_finetune.output.models,
        code=code(CP, "icl", "bayes", "synthetic", "stages"),
    output:
        losses="results/{scale}/conjugate_prompting/evals/synthetic.npz",
    params:
        stage="conjugate_prompting.evaluate",
        cfg=P(CP, "synthetic"),
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/evaluate.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/evaluate.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    shell:
        STAGE


rule conjugate_prompting_lm_tiny:
    """Smoke-scale stand-in for the SmolLM2 asset: a tiny random Llama with a byte-level BPE
    tokenizer trained on the probe's own text (same loading and generation code)."""
    input:
        code=code(CP, "lm_probe", "languages", "stages"),
    output:
        model=directory("results/{scale}/conjugate_prompting/lm/tiny_base"),
    params:
        stage="conjugate_prompting.lm_tiny",
        cfg=cp_lm_train_params,
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/lm_tiny.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/lm_tiny.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE


rule conjugate_prompting_lm_finetune:
    """The "fine-tuned" LM: a short English instruction LoRA fine-tune of the pre-trained one."""
    input:
        base=cp_lm_base,
        code=code(CP, "lm_probe", "languages", "stages", core=("resume",)),
    output:
        adapter="results/{scale}/conjugate_prompting/lm/adapter.safetensors",
    params:
        stage="conjugate_prompting.lm_finetune",
        cfg=cp_lm_train_params,
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/lm_finetune.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/lm_finetune.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        STAGE


rule conjugate_prompting_lm_probe:
    """ICL vs instruction-following probe of both LMs in every language / transform."""
    input:
        unpack(cp_probe_inputs),
        code=code(CP, "lm_probe", "languages", "stages"),
    output:
        lm="results/{scale}/conjugate_prompting/evals/lm_probe.json",
    params:
        stage="conjugate_prompting.lm_probe",
        cfg=P(CP, "lm"),
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/lm_probe.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/lm_probe.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    shell:
        STAGE


rule conjugate_prompting_metrics:
    """metrics.json (deterministic) and the loss, conjugate-prompting and LM-probe tables."""
    input:
        unpack(cp_metrics_inputs),
        code=code(CP, "aggregate", "synthetic", "stages", core=("tables",)),
    output:
        metrics="results/{scale}/conjugate_prompting/metrics.json",
        loss_csv="results/{scale}/conjugate_prompting/tables/synthetic_loss.csv",
        loss_md=report("results/{scale}/conjugate_prompting/tables/synthetic_loss.md", caption="../report/conjugate_prompting/synthetic_loss_table.rst", category="conjugate_prompting", subcategory="tables"),
        cp_csv="results/{scale}/conjugate_prompting/tables/conjugate_gamma.csv",
        cp_md=report("results/{scale}/conjugate_prompting/tables/conjugate_gamma.md", caption="../report/conjugate_prompting/conjugate_gamma_table.rst", category="conjugate_prompting", subcategory="tables"),
        lm_csv="results/{scale}/conjugate_prompting/tables/lm_probe.csv",
        lm_md=report("results/{scale}/conjugate_prompting/tables/lm_probe.md", caption="../report/conjugate_prompting/lm_probe_table.rst", category="conjugate_prompting", subcategory="tables"),
    params:
        stage="conjugate_prompting.metrics",
        cfg=P(CP, "synthetic", "lm"),
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/metrics.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/metrics.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    shell:
        STAGE


rule conjugate_prompting_figures:
    """Figures from metrics.json only: rerunning them never retrains."""
    input:
        metrics=rules.conjugate_prompting_metrics.output.metrics,
        code=code(CP, "plots", core=("plotting",)),
    output:
        loss_png=report("results/{scale}/conjugate_prompting/figures/loss_vs_examples.png", caption="../report/conjugate_prompting/loss_vs_examples.rst", category="conjugate_prompting", subcategory="figures"),
        loss_pdf="results/{scale}/conjugate_prompting/figures/loss_vs_examples.pdf",
        cp_png=report("results/{scale}/conjugate_prompting/figures/conjugate_gamma.png", caption="../report/conjugate_prompting/conjugate_gamma.rst", category="conjugate_prompting", subcategory="figures"),
        cp_pdf="results/{scale}/conjugate_prompting/figures/conjugate_gamma.pdf",
        lm_png=report("results/{scale}/conjugate_prompting/figures/lm_probe.png", caption="../report/conjugate_prompting/lm_probe.rst", category="conjugate_prompting", subcategory="figures"),
        lm_pdf="results/{scale}/conjugate_prompting/figures/lm_probe.pdf",
    params:
        stage="conjugate_prompting.figures",
        cfg=P(CP, "synthetic"),
        io=job_io,
    log:
        "results/{scale}/conjugate_prompting/logs/figures.log",
    benchmark:
        "results/{scale}/conjugate_prompting/benchmarks/figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        STAGE
