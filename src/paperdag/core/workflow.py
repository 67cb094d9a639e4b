"""What every stage rule shares, in one place (used by workflow/rules/common.smk).

A paper's rule says only what differs: its inputs, outputs, the config sections it reads and its
resources. The rest is named from the slug and the stage by these helpers:

    use rule stage as catn_train with:
        input:
            data=rules.catn_data.output.data,
            code=CODE("catn.train"),                       # derived: the stage's import closure
        output:
            models=directory("results/{scale}/catn/models/set{set}/{group}"),
        params:
            **JOB("catn.train", "seed", "model", "train"),  # stage name, config slice, job I/O
        log:
            LOG("catn.train", "set{set}-{group}"),          # results/{scale}/catn/logs/train-set{set}-{group}.log
        benchmark:
            BENCH("catn.train", "set{set}-{group}"),        # .../benchmarks/train-set{set}-{group}.tsv
        resources:
            mem_mb=1500,
            runtime=30,

The abstract rule `stage` (common.smk) gives the one command every stage runs, the same a person
runs by hand: `python -m paperdag stage <slug>.<stage> --io ... --cfg ...`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .codeinputs import code_inputs


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


class Helpers:
    """The helpers bound to one workflow (its root folder and its papers' configs)."""

    def __init__(self, root: Path, paper_cfg: dict):
        self.root = Path(root)
        self.paper_cfg = paper_cfg
        self._code: dict[tuple, list[str]] = {}

    # -- config ------------------------------------------------------------------------------
    def params(self, slug: str, scale: str) -> dict:
        return self.paper_cfg[slug].params(scale)

    def P(self, slug: str, *keys: str):
        """Params slice for a job: a function of the job's wildcards returning
        config/papers/<slug>.yaml's `base` merged with `scales[<scale>]`, narrowed to `keys`
        (each a top-level section). Only these values go into the job's params, so changing any
        other key does not rerun it; no keys: the job reads no config (params `{}`)."""

        def get(wildcards):
            full = self.params(slug, wildcards.scale)
            return json.dumps({k: full[k] for k in keys}, sort_keys=True)

        return get

    def cfgval(self, slug: str, scale: str, *path: str):
        d = self.params(slug, scale)
        for k in path:
            d = d[k]
        return d

    # -- what every stage rule shares ---------------------------------------------------------
    def JOB(self, stage: str, *sections: str, cfg=None) -> dict:
        """params of a stage rule: the stage name, the config slice it reads (`sections` of the
        paper's config, or a ready `cfg` callable/string), and the job's I/O description."""
        slug = stage.split(".", 1)[0]
        return {"stage": stage, "cfg": cfg if cfg is not None else self.P(slug, *sections), "io": job_io}

    @staticmethod
    def _name(stage: str, tag: str) -> tuple[str, str]:
        slug, name = stage.split(".", 1)
        return slug, f"{name}-{tag}" if tag else name

    def LOG(self, stage: str, tag: str = "") -> str:
        slug, name = self._name(stage, tag)
        return f"results/{{scale}}/{slug}/logs/{name}.log"

    def BENCH(self, stage: str, tag: str = "") -> str:
        slug, name = self._name(stage, tag)
        return f"results/{{scale}}/{slug}/benchmarks/{name}.tsv"

    def CODE(self, stage: str, extra: tuple[str, ...] = ()) -> list[str]:
        """The source files the stage runs (its import closure, computed statically), relative
        to the workflow root: editing one reruns the stage and what is downstream."""
        key = (stage, extra)
        if key not in self._code:
            self._code[key] = code_inputs(stage, src=self.root / "src", root=self.root, extra=extra)
        return self._code[key]


def fail(e) -> None:
    """A clear one-paragraph error naming the file and key, before any job is scheduled."""
    import sys

    sys.stderr.write(f"\npaperdag config error:\n{e}\n\n")
    raise SystemExit(1)


def report_outputs(slug: str) -> dict:
    """The named outputs of a paper's metrics rule (core.results.result_paths), Markdown tables
    flagged for the Snakemake report with their captions (workflow/report/<slug>/<t>_table.rst)."""
    from snakemake.io import report

    from . import results

    out = results.result_paths(slug)
    for t in results.tables(slug):
        out[f"{t}_md"] = report(out[f"{t}_md"], caption=f"../report/{slug}/{t}_table.rst", category=slug, subcategory="tables")
    return out


def report_figures(slug: str) -> dict:
    """The named outputs of a paper's figures rule, PNGs flagged for the report with captions
    (workflow/report/<slug>/<figure>.rst)."""
    from snakemake.io import report

    from . import results

    out = results.figure_paths(slug)
    for f in results.figures(slug):
        out[f"{f}_png"] = report(out[f"{f}_png"], caption=f"../report/{slug}/{f}.rst", category=slug, subcategory="figures")
    return out


def claims_cfg(paper_cfg, scale: str) -> str:
    """params of a paper's claims job: its claims (from config), the scale and its title."""
    return json.dumps({"claims": paper_cfg.claims, "scale": scale, "title": paper_cfg.title}, sort_keys=True)


def asset_path(getter, many: bool = False):
    """An input function's body for an asset shipped by a package: the path `getter()` finds (or
    the paths, `many=True`), or a clear error (which package to install, how) instead of a
    traceback."""
    from .errors import PaperdagError

    try:
        found = getter()
        return [str(p) for p in found] if many else str(found)
    except PaperdagError as e:
        fail(e)
