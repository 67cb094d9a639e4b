"""cogex's figures, from metrics.json only (never training code)."""

from __future__ import annotations

from paperdag.core import plotting


def search_budget(metrics: dict, p: dict, timing=None):
    """Figure 2 analogue: test accuracy of the selected program vs number of items used for
    selection, one line per number of candidate programs (average over tasks and runs)."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    f2 = metrics["fig2"]
    for c in f2["n_cands"]:
        ax.plot(f2["n_items"], f2["mean_test_accuracy"][str(c)], marker="o", label=f"{c} candidate program{'s' if c > 1 else ''}")
    ax.set_xscale("log")
    ax.set_xticks(f2["n_items"], [str(x) for x in f2["n_items"]])
    ax.minorticks_off()
    ax.set_xlabel("training items used to rank the candidates (count, log scale)")
    ax.set_ylabel("test accuracy of the selected program (%)")
    ax.set_title(f"cogex: CoTACS accuracy vs search budget ({len(metrics['tasks'])}-task mean, n={metrics['runs']} runs)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def ablations(metrics: dict, p: dict, timing=None):
    """Figure 4 analogue: per task, CoTACS (k=1) vs end-to-end CoGEX vs plan CoTACS vs the 0-shot
    plain-answer model, mean ± std over runs."""
    import numpy as np

    plt = plotting.setup()
    tasks = metrics["tasks"]
    names = metrics["paper_reference"]["paper_columns"]
    methods = [("cotacs_k1", "CoTACS k=1 (code)"), ("e2e", "end-to-end CoGEX"), ("plan_k1", "plan CoTACS k=1"),
               ("zero_shot", "plain-answer 0-shot"), ("control", "majority-answer control")]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    w = 0.8 / len(methods)
    x = np.arange(len(tasks) + 1)
    for i, (m, lab) in enumerate(methods):
        means = [metrics["accuracy"][m][t]["mean"] for t in tasks] + [metrics["average"][m]["mean"]]
        stds = [metrics["accuracy"][m][t]["std"] for t in tasks] + [metrics["average"][m]["std"]]
        ax.bar(x + (i - (len(methods) - 1) / 2) * w, means, w, yerr=stds, capsize=2, label=lab)
    ax.set_xticks(x, [f"{names[t]}\n({t})" for t in tasks] + ["Avg"], fontsize=7)
    ax.set_ylabel("test exact-match accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"cogex: search vs per-instance programs vs plans vs plain answers (n={metrics['runs']} runs)", fontsize=9)
    ax.legend(fontsize=6, ncol=3, loc="upper left")
    fig.tight_layout()
    return fig
