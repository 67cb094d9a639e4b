# adapt_retrieve_revise: per independent run r: book (statute book, judgments, instructions, items)
# -> adapt (drafter trained from scratch, drafts) and general (the general model's own answers)
# -> arr (retrieval keyed on question / draft / general answer; revision in scoring and generative
# modes; baselines and ablations) -> metrics + tables -> figures -> claims (common.smk).
# Config: config/papers/adapt_retrieve_revise.yaml. Code: src/paperdag/papers/adapt_retrieve_revise/ (plan.py).

from paperdag.papers.adapt_retrieve_revise import plan as arr_plan


use rule stage as adapt_retrieve_revise_book with:
    input:
        code=CODE("adapt_retrieve_revise.book"),
    output:
        data="results/{scale}/adapt_retrieve_revise/data/run{run}.json",
    log:
        LOG("adapt_retrieve_revise.book", "run{run}"),
    benchmark:
        BENCH("adapt_retrieve_revise.book", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB("adapt_retrieve_revise.book", "seed", "data"),


use rule stage as adapt_retrieve_revise_adapt with:
    input:
        data=rules.adapt_retrieve_revise_book.output.data,
        code=CODE("adapt_retrieve_revise.adapt"),
    output:
        model="results/{scale}/adapt_retrieve_revise/models/run{run}.safetensors",
        drafts="results/{scale}/adapt_retrieve_revise/drafts/run{run}.json",
    log:
        LOG("adapt_retrieve_revise.adapt", "run{run}"),
    benchmark:
        BENCH("adapt_retrieve_revise.adapt", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=1500,
        runtime=lambda wc: 600 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("adapt_retrieve_revise.adapt", "seed", "drafter"),


use rule stage as adapt_retrieve_revise_general with:
    input:
        unpack(lambda w: arr_plan.lm_input(PAPER_CFG["adapt_retrieve_revise"].params(w.scale))),
        data=rules.adapt_retrieve_revise_book.output.data,
        code=CODE("adapt_retrieve_revise.general"),
    output:
        answers="results/{scale}/adapt_retrieve_revise/general/run{run}.json",
    log:
        LOG("adapt_retrieve_revise.general", "run{run}"),
    benchmark:
        BENCH("adapt_retrieve_revise.general", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 40000 if wc.scale == "paper" else 2500,
        runtime=lambda wc: 240 if wc.scale == "paper" else 20,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("adapt_retrieve_revise.general", "reviser", "revise"),


use rule stage as adapt_retrieve_revise_arr with:
    input:
        unpack(lambda w: arr_plan.lm_input(PAPER_CFG["adapt_retrieve_revise"].params(w.scale))),
        data=rules.adapt_retrieve_revise_book.output.data,
        model=rules.adapt_retrieve_revise_adapt.output.model,
        drafts=rules.adapt_retrieve_revise_adapt.output.drafts,
        general=rules.adapt_retrieve_revise_general.output.answers,
        code=CODE("adapt_retrieve_revise.arr"),
    output:
        evals="results/{scale}/adapt_retrieve_revise/evals/run{run}.json",
    log:
        LOG("adapt_retrieve_revise.arr", "run{run}"),
    benchmark:
        BENCH("adapt_retrieve_revise.arr", "run{run}")
    wildcard_constraints:
        run=r"\d+",
    resources:
        mem_mb=lambda wc: 40000 if wc.scale == "paper" else 3000,
        runtime=lambda wc: 480 if wc.scale == "paper" else 30,
        gpu=lambda wc: 1 if wc.scale == "paper" else 0,
    params:
        **JOB("adapt_retrieve_revise.arr", "retrieval", "reviser", "revise"),
