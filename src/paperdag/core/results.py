"""One results contract for every paper.

A paper declares its outputs once, in `paperdag/papers/<slug>/report.py` (plain data, cheap to
import at workflow-parse time):

    FIGURES = ("linear_probe", "weight_decay")    # each: plots.<name>(metrics, p, timing) -> Figure
    TABLES = ("linear_probe", "weight_decay")     # each: a Table in aggregate()'s Results
    CSV_TABLES = ()                               # tables written as CSV only (data for `dvc plots`)
    METRICS_CONFIG = ("claims_n", "paper_reference")   # config sections aggregate() reads
    FIGURES_CONFIG = ("paper_reference",)              # config sections the figures read
    TIMING = False                                # True: aggregate() also returns timing.json
    FIGURE_TABLES = ()                            # tables the figures read (-> 4th argument)

    def metrics_inputs(scale: str, p: dict) -> dict[str, str | list[str]]:
        '''The files aggregate() reads (named inputs of the paper's metrics rule).'''

and implements
- `paperdag/papers/<slug>/aggregate.py`: `aggregate(inputs, p) -> Results` (inputs: the named input
  paths; p: the config sections of METRICS_CONFIG), which computes and returns, writing nothing;
- `paperdag/papers/<slug>/plots.py`: one function per figure, `name(metrics, p, timing) -> Figure`
  (metrics.json only, never training code, so figures regenerate without retraining).

The two generic stages below write every file: `metrics.json` (deterministic), `timing.json`
(measured, machine-dependent numbers), each table as CSV + Markdown, each figure as PNG + PDF.
The workflow (workflow/rules/common.smk) makes the rule outputs, the report entries (captions
`workflow/report/<slug>/<figure>.rst` and `<table>_table.rst`) and the final-output lists from the
same declaration.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .errors import PaperdagError


@dataclass
class Table:
    """One named table: a DataFrame with a title and a note (printed under it in Markdown)."""

    df: Any  # pandas.DataFrame
    title: str | None = None
    note: str | None = None
    floatfmt: str = ".2f"


@dataclass
class Results:
    """What a paper's aggregate() returns: metrics (-> metrics.json), named tables, and, for papers
    that measure times, timing (-> timing.json, apart from the byte-deterministic metrics)."""

    metrics: dict
    tables: dict[str, Table] = field(default_factory=dict)
    timing: dict | None = None


def declaration(slug: str) -> ModuleType:
    """The paper's `report` module (its outputs' declaration)."""
    try:
        return importlib.import_module(f"paperdag.papers.{slug}.report")
    except ModuleNotFoundError as e:
        if e.name == f"paperdag.papers.{slug}.report":
            raise PaperdagError(f"paper '{slug}' has no src/paperdag/papers/{slug}/report.py (its outputs' declaration)") from e
        raise


def figures(slug: str) -> tuple[str, ...]:
    return tuple(getattr(declaration(slug), "FIGURES", ()))


def tables(slug: str) -> tuple[str, ...]:
    return tuple(getattr(declaration(slug), "TABLES", ()))


def csv_tables(slug: str) -> tuple[str, ...]:
    return tuple(getattr(declaration(slug), "CSV_TABLES", ()))


def runs_keys(slug: str) -> tuple[str, ...]:
    """The dotted config keys that count the paper's independent runs (`RUNS` in its report.py)."""
    return tuple(getattr(declaration(slug), "RUNS", ()))


def has_timing(slug: str) -> bool:
    return bool(getattr(declaration(slug), "TIMING", False))


def result_paths(slug: str, scale: str = "{scale}") -> dict[str, str]:
    """Named outputs of the paper's metrics rule: metrics[, timing], <table>_csv, <table>_md."""
    base = f"results/{scale}/{slug}"
    out = {"metrics": f"{base}/metrics.json"}
    if has_timing(slug):
        out["timing"] = f"{base}/timing.json"
    for t in tables(slug):
        out[f"{t}_csv"] = f"{base}/tables/{t}.csv"
        out[f"{t}_md"] = f"{base}/tables/{t}.md"
    for t in csv_tables(slug):
        out[f"{t}_csv"] = f"{base}/tables/{t}.csv"
    return out


def figure_paths(slug: str, scale: str = "{scale}") -> dict[str, str]:
    """Named outputs of the paper's figures rule: <figure>_png, <figure>_pdf."""
    base = f"results/{scale}/{slug}/figures"
    out = {}
    for f in figures(slug):
        out[f"{f}_png"] = f"{base}/{f}.png"
        out[f"{f}_pdf"] = f"{base}/{f}.pdf"
    return out


def final_outputs(slug: str, scale: str) -> list[str]:
    """What `rule all` builds for a paper: metrics, claims, every table and figure."""
    return (
        [f"results/{scale}/{slug}/claims.json", f"results/{scale}/{slug}/tables/claims.md"]
        + list(result_paths(slug, scale).values())
        + list(figure_paths(slug, scale).values())
    )


def caption_path(slug: str, name: str, kind: str) -> str:
    """The report caption of a figure or table, relative to the repository root."""
    return f"workflow/report/{slug}/{name}{'_table' if kind == 'table' else ''}.rst"


def write_results(slug: str, res: Results, output) -> None:
    """Write what aggregate() returned to the metrics rule's outputs (all atomically)."""
    from .io import write_json
    from .tables import write_table

    if not isinstance(res, Results):
        raise PaperdagError(f"{slug}: aggregate() must return core.results.Results, got {type(res).__name__}")
    declared = set(tables(slug)) | set(csv_tables(slug))
    if set(res.tables) != declared:
        raise PaperdagError(
            f"{slug}: aggregate() returned tables {sorted(res.tables)}, but report.py declares {sorted(declared)}"
        )
    if (res.timing is not None) != has_timing(slug):
        raise PaperdagError(f"{slug}: report.py says TIMING={has_timing(slug)}, but aggregate() returned timing={res.timing is not None}")
    write_json(output["metrics"], res.metrics)
    if res.timing is not None:
        write_json(output["timing"], res.timing)
    for name, t in res.tables.items():
        write_table(t.df, output[f"{name}_csv"], output.get(f"{name}_md"), title=t.title, note=t.note, floatfmt=t.floatfmt)


def figure_tables(slug: str) -> tuple[str, ...]:
    """Tables (of TABLES or CSV_TABLES) that the paper's figures read besides metrics and timing."""
    return tuple(getattr(declaration(slug), "FIGURE_TABLES", ()))


def write_figures(slug: str, metrics: dict, p: dict, timing: dict | None, output, tables: dict | None = None) -> None:
    """Call plots.<name>(metrics, p, timing[, tables]) for every declared figure; save PNG + PDF.
    `tables`: the DataFrames of FIGURE_TABLES, for papers that declare them."""
    from . import plotting

    plots = importlib.import_module(f"paperdag.papers.{slug}.plots")
    plotting.setup()
    extra = ()
    if tables is not None:
        extra = (tables,)
    for name in figures(slug):
        fn = getattr(plots, name, None)
        if fn is None:
            raise PaperdagError(f"{slug}: report.py declares figure '{name}', but plots.py has no function {name}()")
        fig = fn(metrics, p, timing, *extra)
        plotting.save(fig, output[f"{name}_png"], output[f"{name}_pdf"])
