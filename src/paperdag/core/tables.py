"""Tables as CSV (machine-readable, for `dvc plots`/diffs) and Markdown (for people and the
Snakemake report), both written atomically from one pandas DataFrame."""

from __future__ import annotations

import pandas as pd

from .io import atomic_path, write_text


def to_markdown(df: pd.DataFrame, floatfmt: str = ".2f") -> str:
    def cell(v):
        if isinstance(v, float):
            return "–" if pd.isna(v) else format(v, floatfmt)
        return str(v)

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(cell(v) for v in row.tolist()) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, csv_path, md_path=None, title: str | None = None, note: str | None = None, floatfmt: str = ".2f") -> None:
    with atomic_path(csv_path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    if md_path:
        text = (f"# {title}\n\n" if title else "") + to_markdown(df, floatfmt) + (f"\n{note}\n" if note else "")
        write_text(md_path, text)
