# Shared helpers for every paper's rule file: config loading and validation (before any job
# runs), per-scale parameter lookup, code-as-input declarations, and the generic rules
# (claims ledger per paper, the cross-paper SUMMARY.md).

import json
from pathlib import Path

from paperdag.core.config import (
    SCALES,
    PaperConfig,
    available_papers,
    load_main_config,
)
from paperdag.core import results as results_decl
from paperdag.core.errors import PaperdagError
from paperdag.core.workflow import Helpers, claims_cfg, fail, report_figures, report_outputs

ROOT = Path(workflow.basedir)


try:
    MAIN = load_main_config(config, ROOT)
    PAPERS = available_papers(ROOT)
    PAPER_CFG = {
        slug: PaperConfig(slug, ROOT, overrides=MAIN["overrides"].get(slug), override_scale=MAIN["scale"])
        for slug in PAPERS
    }
except PaperdagError as e:
    fail(e)

SCALE = MAIN["scale"]
RUN_PAPERS = MAIN["papers"]


wildcard_constraints:
    scale="|".join(SCALES),
    slug="[a-z0-9_]+",
    set=r"\d+",


# The helpers every rule uses (src/paperdag/core/workflow.py): P (a job's config slice), JOB (a
# stage rule's params: stage name, config slice, job I/O), LOG / BENCH (named from slug and
# stage), CODE (the stage's source files, derived from its imports).
_H = Helpers(ROOT, PAPER_CFG)
P, JOB, LOG, BENCH, CODE, cfgval = _H.P, _H.JOB, _H.LOG, _H.BENCH, _H.CODE, _H.cfgval
try:
    for _slug in PAPERS:
        results_decl.declaration(_slug)
except PaperdagError as e:
    fail(e)

# The one command every stage rule runs: the same as running the stage by hand.
STAGE = (
    "python -m paperdag stage {params.stage} --io {params.io:q} --cfg {params.cfg:q} "
    "--threads {threads} --log {log:q} 2>> {log:q}"
)


# The environment is the project's one pinned virtualenv (README: set-up), so rules declare no
# conda/container environment.
rule stage:
    """Abstract: every stage rule is `use rule stage as <slug>_<stage> with:` and states its
    input, output, params (JOB), log, benchmark and resources."""
    log:
        "results/logs/stage.log",  # replaced by every rule that uses it (LOG)
    threads: 1
    shell:
        STAGE


# Each paper's metrics and figures rules, from its declaration (papers/<slug>/report.py): the
# generic stages core.results / core.figures call its aggregate() and plots, and write every file.
for _slug in PAPERS:
    _decl = results_decl.declaration(_slug)

    rule:
        name:
            f"{_slug}_metrics"
        input:
            unpack(lambda w, s=_slug: results_decl.declaration(s).metrics_inputs(w.scale, PAPER_CFG[s].params(w.scale))),
            code=CODE("core.results", extra=(f"paperdag.papers.{_slug}.aggregate", f"paperdag.papers.{_slug}.report")),
        output:
            **report_outputs(_slug),
        log:
            f"results/{{scale}}/{_slug}/logs/metrics.log",
        benchmark:
            f"results/{{scale}}/{_slug}/benchmarks/metrics.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            **JOB("core.results", cfg=P(_slug, *_decl.METRICS_CONFIG)),
        shell:
            STAGE

    rule:
        name:
            f"{_slug}_figures"
        input:
            **{f"{t}_csv": results_decl.result_paths(_slug)[f"{t}_csv"] for t in results_decl.figure_tables(_slug)},
            metrics=f"results/{{scale}}/{_slug}/metrics.json",
            timing=results_decl.result_paths(_slug).get("timing", []),
            code=CODE("core.figures", extra=(f"paperdag.papers.{_slug}.plots", f"paperdag.papers.{_slug}.report")),
        output:
            **report_figures(_slug),
        log:
            f"results/{{scale}}/{_slug}/logs/figures.log",
        benchmark:
            f"results/{{scale}}/{_slug}/benchmarks/figures.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            **JOB("core.figures", cfg=P(_slug, *getattr(_decl, "FIGURES_CONFIG", ()))),
        shell:
            STAGE


use rule stage as claims with:
    """The claims ledger of one paper: paper value, ours, verdict (JSON and Markdown)."""
    input:
        metrics="results/{scale}/{slug}/metrics.json",
        timing=lambda w: results_decl.result_paths(w.slug, w.scale).get("timing", []),
        code=CODE("core.claims"),
    output:
        claims="results/{scale}/{slug}/claims.json",
        md=report(
            "results/{scale}/{slug}/tables/claims.md",
            caption="../report/claims.rst",
            category="{slug}",
            subcategory="claims",
        ),
    log:
        "results/{scale}/{slug}/logs/claims.log",
    benchmark:
        "results/{scale}/{slug}/benchmarks/claims.tsv"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB("core.claims", cfg=lambda w: claims_cfg(PAPER_CFG[w.slug], w.scale)),


use rule stage as summary with:
    """One row per paper and claim: paper value, ours, verdict, runtime (from benchmark files). The
    papers of this run are its inputs; the ledgers that exist for the other papers are merged in."""
    input:
        claims=lambda w: expand("results/{scale}/{slug}/claims.json", scale=w.scale, slug=RUN_PAPERS),
        code=CODE("core.summary"),
    output:
        md=report("results/{scale}/SUMMARY.md", caption="../report/summary.rst", category="Summary"),
        json="results/{scale}/summary.json",
        provenance="results/{scale}/provenance.json",
    log:
        "results/{scale}/logs/summary.log",
    benchmark:
        "results/{scale}/benchmarks/summary.tsv"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **JOB(
            "core.summary",
            cfg=json.dumps(
                {
                    "papers": RUN_PAPERS,
                    # the ledgers of papers not in this run are kept (read from results/<scale>/)
                    "all_papers": PAPERS,
                    "titles": {s: PAPER_CFG[s].title for s in PAPERS},
                }
            ),
        ),
