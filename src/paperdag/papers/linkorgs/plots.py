"""linkorgs's figures, from metrics.json (and timing.json) only."""

from __future__ import annotations

from paperdag.core import plotting

from .aggregate import LABEL

STYLE = {
    "fuzzy_jaccard": ("tab:gray", "-"), "fuzzy_jw": ("tab:gray", ":"), "lookup": ("black", ""),
    "minilm": ("tab:olive", "-"), "ml": ("tab:blue", "-"), "ml_untrained": ("tab:blue", ":"),
    "bipartite": ("tab:green", "--"), "markov": ("tab:purple", "--"),
    "bipartite_ml": ("tab:red", "-"), "markov_ml": ("tab:orange", "-"),
}  # fmt: skip


def task1_curves(metrics: dict, p: dict, timing=None):
    """TPR and F2 vs matched-set size for every method (the paper's figure for application 1)."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for m, curve in metrics["curves"].items():
        color, ls = STYLE[m]
        xs = [max(c["matched"], 0.5) for c in curve]
        for ax, key in zip(axes, ("tpr", "f2")):
            ys = [c[key]["mean"] for c in curve]
            if m == "lookup":
                ax.plot(xs, ys, "k*", markersize=10, label=LABEL[m])
            else:
                ax.plot(xs, ys, color=color, linestyle=ls, marker=".", label=LABEL[m])
    axes[1].axhline(p["paper_reference"]["top_f2"], color="tab:red", linewidth=0.8, alpha=0.6)
    axes[1].text(0.02, p["paper_reference"]["top_f2"] + 0.01, "paper: top F2 > 0.6 (its data)", fontsize=7, color="tab:red", transform=axes[1].get_yaxis_transform())
    for ax, name in zip(axes, ("true-positive rate", "F2")):
        ax.set_xscale("log")
        ax.set_xlabel("matched-set size (pairs)")
        ax.set_ylabel(name)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_title("Application 1: TPR vs matched-set size")
    axes[1].set_title("Application 1: F2 vs matched-set size")
    axes[1].legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def coefficients(metrics: dict, p: dict, timing=None):
    """Estimated slope and 95 % interval per linkage and run, beside the truth."""
    plt = plotting.setup()
    reg = metrics["regression"]
    names = ["truth"] + [m for m in STYLE if m in reg]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for k, m in enumerate(names):
        r = reg[m]
        n = len(r["slope"])
        for i in range(n):
            if r["slope"][i] is None:
                continue
            y = k + (i - (n - 1) / 2) * 0.18
            ax.errorbar(r["slope"][i], y, xerr=[[r["slope"][i] - r["lo"][i]], [r["hi"][i] - r["slope"][i]]], fmt="o", color="black" if m == "truth" else STYLE[m][0], markersize=3, capsize=2)
    lo, hi = min(reg["truth"]["lo"]), max(reg["truth"]["hi"])
    ax.axvspan(lo, hi, color="tab:green", alpha=0.12, label="truth's 95 % intervals (span over runs)")
    ax.axvline(p["paper_reference"]["true_slope"], color="tab:red", linestyle="--", linewidth=1, label="paper: hand-matched coefficient ≈ 2.5")
    ax.axvline(0, color="gray", linewidth=0.6)
    ax.set_yticks(range(len(names)), ["truth (true links)"] + [LABEL[m] for m in names[1:]], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("slope of log lobbying on log assets (one point per run, 95 % interval)")
    ax.set_title("Application 2: coefficient estimated on each linkage")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def runtime(metrics: dict, p: dict, timing=None):
    """Seconds per method (all four name lists of one run, mean over runs)."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sec = (timing or {}).get("method_seconds_mean", {})
    names = [m for m in STYLE if m in sec]
    ax.barh(range(len(names)), [sec[m] for m in names], color=[STYLE[m][0] for m in names])
    ax.set_yticks(range(len(names)), [LABEL[m] for m in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("seconds per run (4 name lists; machine shared, 1 thread)")
    g = (timing or {}).get("graph_seconds_mean", {})
    ax.set_title(f"Runtime per method (graph building: bipartite {g.get('bipartite_graph', 0):.2f} s, Markov {g.get('markov_graph', 0):.2f} s)", fontsize=8)
    fig.tight_layout()
    return fig
