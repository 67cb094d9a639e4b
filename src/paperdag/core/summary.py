"""results/<scale>/SUMMARY.md: one row per paper and ledger entry (paper value, ours with n, ours /
paper, both ends of the interval, verdict) and the paper's runtime, summed from its Snakemake
benchmark files; premises, checks, analytic and descriptive rows in sections of their own, never
counted with the claims (the counts come from core/claims.py's one counting function)."""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import PaperdagError
from .io import read_json

from .claims import counts_line, fmt_interval, fmt_ratio, fmt_runs_needed, fmt_value, ledger_sections, md_cell, verdict_counts


def paper_runtime_s(paper_dir: Path) -> float:
    total = 0.0
    for tsv in sorted((paper_dir / "benchmarks").glob("*.tsv")):
        with open(tsv) as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if rows:
            try:
                total += float(rows[-1]["s"])
            except (KeyError, ValueError):
                pass
    return total


def earlier_ledgers(scale_dir: Path, papers: list[str], skip: set[str]) -> dict[str, list[dict]]:
    """The ledgers at results/<scale>/<slug>/claims.json of the papers in `papers` but not in `skip`
    (the papers of this run): what an earlier run left, so that running one paper keeps the rest of
    the summary. A ledger that cannot be read is an error naming the file."""
    out = {}
    for slug in papers:
        path = Path(scale_dir) / slug / "claims.json"
        if slug in skip or not path.exists():
            continue
        led = read_json(path)  # names the file when it is not valid JSON
        if not isinstance(led, dict) or "claims" not in led:
            raise PaperdagError(f"{path}: not a claims ledger (no key 'claims')")
        out[slug] = led["claims"]
    return out


def summary_rows(scale_dir: Path, papers: list[str], ledgers: dict[str, list[dict]], runtimes: dict | None = None,
                 earlier: set[str] | None = None) -> list[dict]:
    """`runtimes` (slug -> s) overrides the benchmark sum, e.g. when the ledger is rebuilt from
    committed metrics without the benchmark files. `earlier`: papers whose ledger comes from an
    earlier run (their rows get `"run": "earlier"`, the others `"run": "this"`)."""
    rows = []
    for slug in papers:
        rt = (runtimes or {}).get(slug, None)
        rt = paper_runtime_s(scale_dir / slug) if rt is None else rt
        run = "earlier" if slug in (earlier or set()) else "this"
        for r in ledgers[slug]:
            rows.append({**r, "slug": slug, "runtime_s": rt, "run": run})
    return rows


def summary_markdown(scale: str, rows: list[dict], titles: dict[str, str], earlier: list[str] | None = None) -> str:
    lines = [
        f"# paperdag summary: `{scale}` scale",
        "",
        "One row per ledger entry. *paper*: the value the paper reports; *ours*: this run, mean ± std over n independent",
        "runs (n = 1: a single measurement, never enough for *reproduced* or *not reproduced*); *ours / paper*: our value",
        "over the paper's comparable number; *interval*: the 90 % t-interval of our mean, each end a one-sided 95 % bound",
        "(*reproduced* when it lies on the claim's side of the threshold, *not reproduced* when it lies on the failing side,",
        "*inconclusive* otherwise); *runs needed*: for inconclusive rows, the number of runs at which the observed mean and",
        "spread would decide (a power estimate); *verdict*: the rule of README.md (Verdicts) applied to the row's check from",
        "config/papers/<slug>.yaml. Premises (testbed preconditions), checks, analytic and descriptive rows are listed",
        "apart and never counted as the paper's claims; a claim whose premise failed is *untestable*.",
        "Runtime: the paper's whole pipeline at this scale, summed over its jobs' benchmark files (wall seconds).",
    ]
    if earlier:
        lines += ["", "Ledgers kept from an earlier run (not rebuilt by the run that wrote this file): "
                  + ", ".join(f"`{s}`" for s in earlier) + "; marked † below."]
    mark = {s: " †" for s in (earlier or [])}
    headers = {
        "premise": ("## Premises (testbed preconditions; not counted as claims)", True),
        "claim": ("## Claims", True),
        "check": ("## Checks (identities, ground truth, rows that hold by construction; not counted)", False),
        "analytic": ("## Analytic values (a formula evaluated on our sizes; not counted)", False),
        "descriptive": ("## Descriptive values (no verdict by design; not counted)", False),
    }
    for kind, rs in ledger_sections(rows):
        title, decided = headers[kind]
        lines += ["", title, ""]
        if decided:
            lines += [f"| paper | {kind} | paper value | ours | ours / paper | criterion | interval | runs needed | verdict | runtime (s) |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for r in rs:
                lines.append(
                    f"| {r['slug']}{mark.get(r['slug'], '')} | {md_cell(r['text'])} | {fmt_value(r['paper_value'])} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
                    f"| {fmt_ratio(r)} | {md_cell(r['criterion'])} | {fmt_interval(r)} | {fmt_runs_needed(r)} | **{r['verdict']}** | {r['runtime_s']:.0f} |"
                )
        else:
            lines += [f"| paper | {kind} | paper value | ours | criterion | verdict |", "|---|---|---|---|---|---|"]
            for r in rs:
                holds = {True: " (holds)", False: " (does not hold)"}.get(r.get("criterion_holds"), "") if kind == "analytic" else ""
                lines.append(
                    f"| {r['slug']}{mark.get(r['slug'], '')} | {md_cell(r['text'])} | {fmt_value(r['paper_value'])} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
                    f"| {md_cell(r['criterion'])}{holds} | **{r['verdict']}** |"
                )
    counts = verdict_counts(rows)
    lines += ["", "## Verdicts", "", "All papers: " + counts_line(rows), ""]
    lines += [f"- `{slug}`: {counts_line([r for r in rows if r['slug'] == slug])}" for slug in dict.fromkeys(r["slug"] for r in rows)]
    lines += ["", f"Claims counted: {sum(counts.get('claim', {}).values())}.", ""]
    lines += ["Papers:", ""] + [f"- `{s}`: {t}" for s, t in titles.items()] + [""]
    return "\n".join(lines)
