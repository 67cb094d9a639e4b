"""Figure helpers: one style for every paper, PNG + PDF written atomically, and a way to draw
the paper's reported value beside ours."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .io import atomic_path  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 9,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    # deterministic PDFs/PNGs: no timestamps in metadata
    "pdf.compression": 6,
}


def setup():
    plt.rcParams.update(STYLE)
    return plt


def save(fig, png_path, pdf_path=None) -> None:
    meta_png = {"Software": None}
    with atomic_path(png_path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight", metadata=meta_png)
    if pdf_path:
        with atomic_path(pdf_path, suffix=".pdf") as tmp:
            fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    plt.close(fig)


def paper_marker(ax, x, y, label="paper", **kw):
    """Draw a value the paper reports (hollow black star) so it reads apart from ours."""
    style = dict(marker="*", s=120, facecolors="none", edgecolors="black", linewidths=1.2, zorder=5)
    style.update(kw)
    return ax.scatter([x], [y], label=label, **style)


def out_paths(output, key: str) -> tuple[str, str | None]:
    """For an output named `<key>` (PNG), its PDF sibling is output[`<key>_pdf`] if declared."""
    png = output[key]
    pdf = output.get(f"{key}_pdf")
    return png, pdf


__all__ = ["setup", "save", "paper_marker", "out_paths", "Path"]
