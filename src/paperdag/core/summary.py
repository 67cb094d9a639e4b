"""results/<scale>/SUMMARY.md: one row per paper and claim (paper value, ours, verdict) and the
paper's runtime, summed from its Snakemake benchmark files."""

from __future__ import annotations

import csv
from pathlib import Path

from .claims import fmt_value


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


def summary_rows(scale_dir: Path, papers: list[str], ledgers: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for slug in papers:
        rt = paper_runtime_s(scale_dir / slug)
        for r in ledgers[slug]:
            rows.append({**r, "slug": slug, "runtime_s": rt})
    return rows


def summary_markdown(scale: str, rows: list[dict], titles: dict[str, str]) -> str:
    lines = [
        f"# paperdag summary: `{scale}` scale",
        "",
        "One row per claim. *paper*: the value the paper reports; *ours*: this run (mean ± std over n seeds where",
        "the metric has seeds); *verdict*: the claim's check from config/papers/<slug>.yaml applied to ours.",
        "Runtime: the paper's whole pipeline at this scale, summed over its jobs' benchmark files (CPU seconds of wall time).",
        "",
        "| paper | claim | paper value | ours | criterion | verdict | runtime (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['slug']} | {r['text']} | {fmt_value(r['paper_value'])} | {fmt_value(r['ours'], r['ours_std'], r['n'])} "
            f"| {r['criterion']} | **{r['verdict']}** | {r['runtime_s']:.0f} |"
        )
    counts = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines += ["", "Verdicts: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), ""]
    lines += ["Papers:", ""] + [f"- `{s}`: {t}" for s, t in titles.items()] + [""]
    return "\n".join(lines)
