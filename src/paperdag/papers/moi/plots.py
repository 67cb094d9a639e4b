"""moi's figures, from metrics.json only (never training code)."""

from __future__ import annotations

import numpy as np

from paperdag.core import plotting

DOMAINS = ("math", "code", "tool", "dialogue")
LABELS = {
    "sequence": "Sequence", "packing": "Packing", "balanced": "Balanced",
    "balanced_domain": "Balanced + domain prompts", "moi_nomask": "MoI, no mask",
    "moi_isolated": "MoI, isolated mask", "moi": "MoI (chunk mask)", "moi_v1": "MoI v1",
}


def _bars(ax, metrics, strategies, which="default"):
    cols = list(DOMAINS) + ["avg"]
    w = 0.8 / max(1, len(strategies))
    for k, s in enumerate(strategies):
        e = metrics["strategies"][s][which]
        ax.bar(np.arange(len(cols)) + k * w - 0.4 + w / 2, [e[c]["mean"] for c in cols], w,
               yerr=[e[c]["std"] for c in cols], capsize=2, label=LABELS[s])
    ax.set_xticks(range(len(cols)), [c if c != "avg" else "macro-avg" for c in cols])
    ax.set_ylabel(f"exact match under the {which} prompt (%)")
    ax.set_ylim(0, 105)


def strategies(metrics: dict, p: dict, timing=None):
    """Table 2 analogue: per-domain and average accuracy of each training strategy."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=True)
    order = metrics["strategy_order"]
    _bars(axes[0], metrics, order, "default")
    _bars(axes[1], metrics, order, "domain")
    axes[0].set_title("evaluated under the default system prompt (as the paper)", fontsize=9)
    axes[1].set_title("evaluated under each domain's system prompt", fontsize=9)
    fig.suptitle(f"moi: training strategies, tiny Llama on generated domains (mean ± std, n = {len(metrics['seeds'])} seeds)", fontsize=9)
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def masks(metrics: dict, p: dict, timing=None):
    """Table 8 analogue: MoI with no mask / isolated / chunk mask."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    _bars(ax, metrics, [s for s in ("moi_nomask", "moi_isolated", "moi") if s in metrics["strategies"]])
    ax.set_title(f"moi: attention mask of MoI (mean ± std, n = {len(metrics['seeds'])} seeds)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def prompts(metrics: dict, p: dict, timing=None):
    """Table 3 analogue: SmolLM2 under the default vs the domain system prompt (item bootstrap)."""
    plt = plotting.setup()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    sens = metrics["sensitivity"]
    doms = list(sens)
    for k, name in enumerate(("default", "domain")):
        acc = [sens[d][name]["acc"] for d in doms]
        lo = [sens[d][name]["acc"] - sens[d][name]["ci95_items"][0] for d in doms]
        hi = [sens[d][name]["ci95_items"][1] - sens[d][name]["acc"] for d in doms]
        ax.bar(np.arange(len(doms)) + (k - 0.5) * 0.38, acc, 0.38, yerr=[lo, hi], capsize=3,
               label="default prompt" if name == "default" else "domain prompt (mathematician / programmer / function-calling agent)")
    ax.set_xticks(range(len(doms)), doms)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("moi: SmolLM2-135M-Instruct greedy accuracy by system prompt", fontsize=8)
    ax.legend(fontsize=6)
    g = [sens[d]["ref_logprob_gain"] for d in doms]
    ax2.bar(range(len(doms)), [x["nats"] for x in g], 0.5, color="tab:gray",
            yerr=[[x["nats"] - x["ci95_items"][0] for x in g], [x["ci95_items"][1] - x["nats"] for x in g]], capsize=3)
    ax2.axhline(0, color="black", lw=0.8)
    ax2.set_xticks(range(len(doms)), doms)
    ax2.set_ylabel("log p(ref.): domain − default (nats)")
    ax2.set_title("reference-answer log-probability gain (one model; 95 % item bootstrap)", fontsize=8)
    fig.tight_layout()
    return fig


def curves(metrics: dict, p: dict, timing=None):
    """Figure 5 analogue: default-prompt accuracy vs step, Packing vs Balanced vs MoI (and Sequence)."""
    plt = plotting.setup()
    fig, axes = plt.subplots(1, 5, figsize=(14, 3), sharey=True)
    rows = metrics["curves"]
    show = [s for s in ("sequence", "packing", "balanced", "moi") if any(r["strategy"] == s for r in rows)]
    for ax, col in zip(axes, list(DOMAINS) + ["avg"]):
        for s in show:
            rr = [r for r in rows if r["strategy"] == s]
            ax.plot([r["step"] for r in rr], [r[col] for r in rr], marker="o", ms=3, label=LABELS[s])
        ax.set_title(col if col != "avg" else "macro-average", fontsize=9)
        ax.set_xlabel("training step")
    axes[0].set_ylabel("exact match, default prompt (%)")
    axes[0].legend(fontsize=6)
    fig.suptitle(f"moi: accuracy vs training step (mean over {len(metrics['seeds'])} seeds)", fontsize=9)
    fig.tight_layout()
    return fig
