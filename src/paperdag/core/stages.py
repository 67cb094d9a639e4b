"""Generic stages shared by every paper: the claims ledger and the cross-paper summary."""

from __future__ import annotations

from pathlib import Path

from .claims import claims_markdown, evaluate_claims, verdict_counts
from .io import read_json, write_json, write_text
from .stage import stage
from .summary import earlier_ledgers, summary_markdown, summary_rows


@stage("core.claims")
def claims(ctx):
    metrics = read_json(ctx.input.metrics)
    # measured, machine-dependent numbers (timings) live apart from the deterministic
    # metrics.json, in timing.json; claims may use them too
    timing = ctx.input.get("timing") or []
    for path in [timing] if isinstance(timing, str) else timing:
        metrics.setdefault("claims_inputs", {}).update(read_json(path).get("claims_inputs", {}))
    rows = evaluate_claims(ctx.params["claims"], metrics, ctx.params["scale"])
    # counts per kind (claims; premises, checks, analytic and descriptive rows apart): the one counting function
    counts = verdict_counts(rows)
    write_json(ctx.output.claims, {"title": ctx.params["title"], "scale": ctx.params["scale"], "counts": counts, "claims": rows})
    head = f"# Claims ledger: {ctx.params['title']} (`{ctx.params['scale']}` scale)\n\n"
    write_text(ctx.output.md, head + claims_markdown(rows))
    for r in rows:
        ctx.log.info("claim %s: paper %s, ours %s -> %s", r["id"], r["paper_value"], r["ours"], r["verdict"])


@stage("core.summary")
def summary(ctx):
    ledgers = {}
    for path in ctx.input.claims:
        slug = Path(path).parent.name
        ledgers[slug] = read_json(path)["claims"]
    scale_dir = Path(ctx.output.md).parent
    # Running one paper must not drop the others: the ledgers that exist at this scale for papers
    # outside this run are merged in, marked as from an earlier run.
    earlier = earlier_ledgers(scale_dir, ctx.params.get("all_papers", []), set(ledgers))
    for slug in earlier:
        ctx.log.info("kept %s's ledger from an earlier run (%s)", slug, scale_dir / slug / "claims.json")
    ledgers.update(earlier)
    papers = [p for p in dict.fromkeys([*ctx.params.get("all_papers", []), *ctx.params["papers"]]) if p in ledgers]
    rows = summary_rows(scale_dir, papers, ledgers, ctx.params.get("runtimes"), earlier=set(earlier))
    titles = {s: t for s, t in ctx.params["titles"].items() if s in ledgers}
    write_json(ctx.output.json, {"scale": scale_dir.name, "rows": rows, "this_run": [p for p in papers if p not in earlier],
                                 "earlier": sorted(earlier)})
    write_text(ctx.output.md, summary_markdown(scale_dir.name, rows, titles, earlier=sorted(earlier)))
    if ctx.output.get("provenance"):
        from .provenance import provenance

        # the machine and libraries this run's numbers come from (README, "Determinism")
        write_json(ctx.output.provenance, provenance())


def _slug_of(path) -> str:
    """results/<scale>/<slug>/metrics.json -> <slug>."""
    return Path(path).parent.name


@stage("core.results")
def results(ctx):
    """A paper's aggregation (papers/<slug>/aggregate.py) -> metrics.json, timing.json, tables."""
    import importlib

    from .results import write_results

    from .provenance import with_provenance

    slug = _slug_of(ctx.output.metrics)
    agg = importlib.import_module(f"paperdag.papers.{slug}.aggregate")
    inputs = {k: v for k, v in ctx.input.items() if k != "code"}
    res = agg.aggregate(inputs, ctx.params)
    if res.timing is not None:  # measured numbers: record the machine and libraries beside them
        res.timing = with_provenance(res.timing)
    write_results(slug, res, ctx.output)


@stage("core.figures")
def figures(ctx):
    """A paper's figures (papers/<slug>/plots.py) from metrics.json (and timing.json) only."""
    from .results import figure_tables, write_figures

    slug = _slug_of(ctx.input.metrics)
    timing = read_json(ctx.input.timing) if ctx.input.get("timing") else None
    tables = None
    if figure_tables(slug):
        import pandas as pd

        tables = {t: pd.read_csv(ctx.input[f"{t}_csv"]) for t in figure_tables(slug)}
    write_figures(slug, read_json(ctx.input.metrics), ctx.params, timing, ctx.output, tables)
