# prepacking: plan (prompts of every batch; packer comparison) -> correctness (fp32 logits and
#   greedy generations) -> benchmark (prefill/TTFT time and peak memory per method: timings)
#   -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/prepacking.yaml (cross-key checks: plan.py). Code: src/paperdag/papers/prepacking/.
# The default scale runs SmolLM2-135M-Instruct from the shared asset (rule lm_asset,
# workflow/rules/shared.smk); smoke runs a tiny random Llama; paper loads hub ids on a GPU.


from paperdag.papers.prepacking import plan as pk_plan


# Token ids of every benchmark and correctness batch (each benchmark batch a fresh sample of
# prompts: real texts of an offline source, or synthetic lengths); the binpacking library vs
# first-fit decreasing on many sampled batches.
use rule stage as prepacking_plan with:
    input:
        unpack(lambda w: pk_plan.model_input(PAPER_CFG["prepacking"].params(w.scale))),
        code=CODE("prepacking.plan"),
    output:
        plan="results/{scale}/prepacking/data/plan.json",
        packing="results/{scale}/prepacking/data/packing_compare.json",
    log:
        LOG("prepacking.plan"),
    benchmark:
        BENCH("prepacking.plan")
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **JOB("prepacking.plan", "seed", "model", "distributions", "benchmark", "correctness", "packing_compare"),


# fp32 logits of prepacked vs one-prompt-at-a-time prefill; greedy generations from the
# unpacked per-prompt caches vs generate() on the padded batch.
use rule stage as prepacking_correctness with:
    input:
        unpack(lambda w: pk_plan.model_input(PAPER_CFG["prepacking"].params(w.scale))),
        plan=rules.prepacking_plan.output.plan,
        code=CODE("prepacking.correctness"),
    output:
        correctness="results/{scale}/prepacking/evals/correctness.json",
    log:
        LOG("prepacking.correctness"),
    benchmark:
        BENCH("prepacking.correctness")
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("prepacking.correctness", "seed", "model", "benchmark", "correctness"),


# Prefill and TTFT time and peak memory of padding, prepacking and a per-prompt loop on every
# planned batch of one distribution (one job per distribution: they run side by side). Timings
# live here (bench/prefill-<dist>.json), never in metrics.json's deterministic part.
use rule stage as prepacking_benchmark with:
    input:
        unpack(lambda w: pk_plan.model_input(PAPER_CFG["prepacking"].params(w.scale))),
        plan=rules.prepacking_plan.output.plan,
        code=CODE("prepacking.benchmark"),
    output:
        bench="results/{scale}/prepacking/bench/prefill-{dist}.json",
    log:
        LOG("prepacking.benchmark", "{dist}"),
    benchmark:
        BENCH("prepacking.benchmark", "{dist}")
    resources:
        mem_mb=6000,
        runtime=lambda wc: 240 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("prepacking.benchmark", "seed", "model", "benchmark"),
