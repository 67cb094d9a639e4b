# Shared helpers for every paper's rule file: config loading and validation (before any job
# runs), per-scale parameter lookup, code-as-input declarations, and the generic rules
# (claims ledger per paper, the cross-paper SUMMARY.md).

import json
import sys
from pathlib import Path

from paperdag.core.config import (
    SCALES,
    PaperConfig,
    available_papers,
    load_main_config,
)
from paperdag.core.errors import PaperdagError

ROOT = Path(workflow.basedir)


def _fail(e):
    # A clear one-paragraph error naming the file and key, before any job is scheduled.
    sys.stderr.write(f"\npaperdag config error:\n{e}\n\n")
    raise SystemExit(1)


try:
    MAIN = load_main_config(config, ROOT)
    PAPERS = available_papers(ROOT)
    PAPER_CFG = {slug: PaperConfig(slug, ROOT) for slug in PAPERS}
except PaperdagError as e:
    _fail(e)

SCALE = MAIN["scale"]
RUN_PAPERS = MAIN["papers"]

wildcard_constraints:
    scale="|".join(SCALES),
    slug="[a-z0-9_]+",
    set=r"\d+",


def P(slug, *keys):
    """Params slice for a job: a function of the job's wildcards returning
    config/papers/<slug>.yaml's `base` merged with `scales[<scale>]`, narrowed to `keys`
    (each key a top-level section). Only these values go into the job's params, so changing
    any other key does not rerun it."""

    def get(wildcards):
        full = PAPER_CFG[slug].params(wildcards.scale)
        if keys:
            full = {k: full[k] for k in keys}
        return json.dumps(full, sort_keys=True)

    return get


def _plain(v):
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else str(v)


def job_io(wildcards, input, output, resources):
    """The job's named inputs/outputs/wildcards as JSON for `paperdag stage --io`. A function of
    input/output, so Snakemake does not count it as a tracked param (inputs are tracked as
    inputs)."""
    return json.dumps(
        {
            "input": {k: _plain(v) for k, v in input.items()},
            "output": {k: _plain(v) for k, v in output.items()},
            "wildcards": dict(wildcards.items()),
            "resources": {k: v for k, v in resources.items() if isinstance(v, (int, float)) and not k.startswith("_")},
        }
    )


# The one command every stage rule runs: the same as running the stage by hand.
STAGE = (
    "python -m paperdag stage {params.stage} --io {params.io:q} --cfg {params.cfg:q} "
    "--threads {threads} --log {log:q} 2>> {log:q}"
)


def cfgval(slug, scale, *path):
    d = PAPER_CFG[slug].params(scale)
    for k in path:
        d = d[k]
    return d


def code(slug, *modules, core=()):
    """Source files a stage runs, declared as inputs: editing one reruns that stage and what
    depends on it (Snakemake does not track imported code by itself)."""
    files = [f"src/paperdag/papers/{slug}/{m}.py" for m in modules]
    files += [f"src/paperdag/core/{m}.py" for m in core]
    return files


def results(slug, path=""):
    return f"results/{{scale}}/{slug}/{path}"


def paper_final_outputs(slug, scale):
    return [
        f"results/{scale}/{slug}/metrics.json",
        f"results/{scale}/{slug}/claims.json",
        f"results/{scale}/{slug}/tables/claims.md",
    ] + PAPER_FIGURES.get(slug, lambda s: [])(scale) + PAPER_TABLES.get(slug, lambda s: [])(scale)


# Each paper's rule file registers functions listing its figure and table files for a scale,
# and, if it measures timings, its timing.json (machine-dependent numbers kept out of the
# byte-deterministic metrics.json; the claims rule reads both).
PAPER_FIGURES = {}
PAPER_TABLES = {}
PAPER_TIMING = {}


def claims_for(slug):
    def get(wildcards):
        return json.dumps({"claims": PAPER_CFG[slug].claims, "scale": wildcards.scale, "title": PAPER_CFG[slug].title}, sort_keys=True)

    return get


rule claims:
    """The claims ledger of one paper: paper value, ours, verdict (JSON and Markdown)."""
    input:
        metrics="results/{scale}/{slug}/metrics.json",
        timing=lambda w: PAPER_TIMING.get(w.slug, lambda scale: [])(w.scale),
        code=["src/paperdag/core/claims.py", "src/paperdag/core/stages.py"],
    output:
        claims="results/{scale}/{slug}/claims.json",
        md=report(
            "results/{scale}/{slug}/tables/claims.md",
            caption="../report/claims.rst",
            category="{slug}",
            subcategory="claims",
        ),
    params:
        stage="core.claims",
        cfg=lambda w: claims_for(w.slug)(w),
        io=job_io,
    log:
        "results/{scale}/{slug}/logs/claims.log",
    benchmark:
        "results/{scale}/{slug}/benchmarks/claims.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        STAGE


rule summary:
    """One row per paper and claim: paper value, ours, verdict, runtime (from benchmark files)."""
    input:
        claims=lambda w: expand("results/{scale}/{slug}/claims.json", scale=w.scale, slug=RUN_PAPERS),
        code=["src/paperdag/core/summary.py", "src/paperdag/core/stages.py"],
    output:
        md=report("results/{scale}/SUMMARY.md", caption="../report/summary.rst", category="Summary"),
        json="results/{scale}/summary.json",
    params:
        stage="core.summary",
        cfg=lambda w: json.dumps({"papers": RUN_PAPERS, "titles": {s: PAPER_CFG[s].title for s in RUN_PAPERS}}),
        io=job_io,
    log:
        "results/{scale}/logs/summary.log",
    benchmark:
        "results/{scale}/benchmarks/summary.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        STAGE
