"""results/<scale>/SUMMARY.md: one row per paper and claim (paper value, ours with n, ours / paper,
the interval, verdict) and the paper's runtime, summed from its Snakemake benchmark files; checks
and analytic rows in tables of their own, never counted with the claims."""

from __future__ import annotations

import csv
from pathlib import Path

from .claims import md_cell, count_verdicts, counts_line, fmt_interval, fmt_ratio, fmt_value


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


def summary_rows(scale_dir: Path, papers: list[str], ledgers: dict[str, list[dict]], runtimes: dict | None = None) -> list[dict]:
    """`runtimes` (slug -> s) overrides the benchmark sum, e.g. when the ledger is rebuilt from
    committed metrics without the benchmark files."""
    rows = []
    for slug in papers:
        rt = (runtimes or {}).get(slug, None)
        rt = paper_runtime_s(scale_dir / slug) if rt is None else rt
        for r in ledgers[slug]:
            rows.append({**r, "slug": slug, "runtime_s": rt})
    return rows


def summary_markdown(scale: str, rows: list[dict], titles: dict[str, str]) -> str:
    claims = [r for r in rows if r.get("kind", "claim") == "claim"]
    checks = [r for r in rows if r.get("kind") == "check"]
    analytic = [r for r in rows if r.get("kind") == "analytic"]
    lines = [
        f"# paperdag summary: `{scale}` scale",
        "",
        "One row per claim. *paper*: the value the paper reports; *ours*: this run, mean ± std over n independent",
        "runs (n = 1: a single measurement, never enough for *reproduced*); *ours / paper*: our value over the paper's",
        "comparable number; *interval*: the one-sided 95 % t-bound of our mean (the two-sided 90 % interval for `within`)",
        "that the verdict rests on; *verdict*: the rule of README.md (Verdicts) applied to the claim's check from",
        "config/papers/<slug>.yaml. Checks and analytic values are listed apart and not counted.",
        "Runtime: the paper's whole pipeline at this scale, summed over its jobs' benchmark files (wall seconds).",
        "",
        "## Claims",
        "",
        "| paper | claim | paper value | ours | ours / paper | criterion | interval | verdict | runtime (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in claims:
        lines.append(
            f"| {r['slug']} | {r['text']} | {fmt_value(r['paper_value'])} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
            f"| {fmt_ratio(r)} | {md_cell(r['criterion'])} | {fmt_interval(r)} | **{r['verdict']}** | {r['runtime_s']:.0f} |"
        )
    lines += ["", "Claim verdicts: " + (", ".join(f"{k}: {v}" for k, v in count_verdicts(rows).items()) or "none"), ""]
    per_paper = []
    for slug in dict.fromkeys(r["slug"] for r in rows):
        per_paper.append(f"- `{slug}`: {counts_line([r for r in rows if r['slug'] == slug])}")
    lines += per_paper + [""]
    if checks:
        lines += [
            "## Checks (identities, ground truth and testbed preconditions; not counted)",
            "",
            "| paper | check | expected | ours | criterion | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for r in checks:
            lines.append(
                f"| {r['slug']} | {r['text']} | {fmt_value(r['paper_value'])} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
                f"| {md_cell(r['criterion'])} | **{r['verdict']}** |"
            )
        lines.append("")
    if analytic:
        lines += [
            "## Analytic values (a formula evaluated on our sizes; not counted)",
            "",
            "| paper | value | paper value | ours | criterion | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for r in analytic:
            holds = {True: " (holds)", False: " (does not hold)"}.get(r.get("criterion_holds"), "")
            lines.append(
                f"| {r['slug']} | {r['text']} | {fmt_value(r['paper_value'])} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
                f"| {md_cell(r['criterion'])}{holds} | **{r['verdict']}** |"
            )
        lines.append("")
    lines += ["Papers:", ""] + [f"- `{s}`: {t}" for s, t in titles.items()] + [""]
    return "\n".join(lines)
