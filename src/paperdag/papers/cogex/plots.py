"""cogex's figures, from metrics.json only (never training code)."""

from __future__ import annotations

from paperdag.core import plotting


def fit(metrics: dict, p: dict, timing=None):
    """Test error per independent run beside the trivial control."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    runs = metrics["run_mse"]
    ax.bar(range(len(runs)), runs, color="tab:blue", label="trained linear model (one bar per run)")
    ax.axhline(metrics["control_mse"], color="black", linestyle="--", label="control: predict the training mean")
    ax.set_xticks(range(len(runs)), [f"run {i}" for i in range(len(runs))])
    ax.set_ylabel("test mean squared error")
    ax.set_title("cogex: test error per run and the control")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
