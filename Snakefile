# paperdag: every paper as one Snakemake DAG. Each paper's whole pipeline lives in three places:
# workflow/rules/<slug>.smk, config/papers/<slug>.yaml, src/paperdag/papers/<slug>/.
# `snakemake` builds config/config.yaml's `scale` for its `papers`; `paperdag run` wraps this.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/shared.smk"


for _slug in PAPERS:

    include: f"workflow/rules/{_slug}.smk"


rule all:
    default_target: True
    input:
        [f for slug in RUN_PAPERS for f in results_decl.final_outputs(slug, SCALE)],
        f"results/{SCALE}/SUMMARY.md",
