"""catn figures, from metrics.json only (no training code): the linear-probe figure (accuracy vs
representation size, the paper's main figure) and the weight-decay figure (Table 1)."""

from __future__ import annotations

import numpy as np

from paperdag.core import plotting

STYLE = {
    "cat": dict(color="tab:red", marker="o", label="CATn (n episodes, concatenated)"),
    "wide": dict(color="tab:blue", marker="s", label="wide (1 episode, n× width)"),
    "joint": dict(color="tab:green", marker="^", label="n towers trained jointly (1 episode)"),
    "random": dict(color="tab:gray", marker="x", linestyle=":", label="random untrained towers (control)"),
}
PANELS = [("source", "in-distribution (source task re-probe)"), ("task", "task shift (new label set)"), ("dist", "distribution shift (same task, shifted images)")]


def _testbed(p: dict) -> str:
    """A short name of the data and networks, for titles."""
    src = p["data"]["source"]
    if src == "glyphs":
        return "generated glyph images, MLPs"
    if src == "digits":
        return "8×8 digits, MLPs"
    return "hub images, ResNets"


def _source_task(p: dict) -> str:
    src = p["data"]["source"]
    if src == "glyphs":
        return "single MLP, glyph pairs"
    if src == "digits":
        return "single MLP, digits " + ",".join(str(c) for c in p["data"]["source_classes"])
    return "single ResNet, source dataset"


def _series(probe, family, target):
    pts = sorted((v["dim"], v[target]["mean"], v[target]["std"], v["n"]) for v in probe.values() if v["family"] == family)
    return [np.array(c) for c in zip(*pts)] if pts else None


def linear_probe(metrics: dict, p: dict, timing=None):
    """Linear-probe accuracy vs representation size (the paper's main figure), beside the paper's
    iNat18 curve."""
    plt = plotting.setup()
    probe = metrics["probe"]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    for ax, (t, title) in zip(axes, PANELS):
        for fam, st in STYLE.items():
            s = _series(probe, fam, t)
            if s is None:
                continue
            dims, mean, std, ns = s
            ax.errorbar(dims, mean, yerr=std, capsize=2, **st)
            if fam == "cat":
                for dx, m, n in zip(dims, mean, ns):
                    ax.annotate(f"n={int(n)}", (dx, m), textcoords="offset points", xytext=(3, -10), fontsize=7, color="tab:red")
        if "pixels" in probe:
            ax.axhline(probe["pixels"][t]["mean"], color="black", linestyle="--", linewidth=0.8, label="raw pixels")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("representation size (features)")
        ax.set_ylabel("linear-probe test accuracy (%)")
        ax.set_title(title)
    ref = p["paper_reference"]["inat18_lp"]
    ax = axes[3]
    for fam, key in (("cat", "cat"), ("wide", "wide")):
        pts = ref[key]
        ax.plot([q[0] for q in pts], [q[1] for q in pts], color=STYLE[fam]["color"], marker=STYLE[fam]["marker"], label=f"paper: {fam}")
    plotting.paper_marker(ax, ref["single"][0], ref["single"][1], label="paper: one ResNet-50")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.set_xticks([25, 50, 100, 200, 400])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("trunk parameters (millions)")
    ax.set_ylabel("iNat18 linear-probe accuracy (%)")
    ax.set_title("paper: ImageNet → iNat18 (ResNet-50 family)")
    ax.legend(loc="center right")
    h, lab = axes[0].get_legend_handles_labels()
    fig.legend(h, lab, loc="upper center", ncol=5, bbox_to_anchor=(0.5, 1.08), frameon=False)
    fig.suptitle(f"catn: linear probes vs representation size — ours ({_testbed(p)}, mean ± std over {metrics['seed_sets']} seed-sets) and the paper's", y=1.14)
    fig.tight_layout()
    return fig


def weight_decay(metrics: dict, p: dict, timing=None):
    """The Table 1 analogue: in-distribution accuracy and transfer by weight decay, ours and the paper's."""
    plt = plotting.setup()
    wd = metrics["weight_decay"]
    keys = sorted(wd, key=float)
    t1 = p["paper_reference"]["table1"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    x = np.arange(len(keys))
    ax = axes[0]
    for off, (k, lab, col) in zip((-0.2, 0.2), (("iid_acc", "in-distribution (source test)", "tab:purple"), ("task", "task-shift probe", "tab:orange"))):
        ax.bar(x + off, [wd[w][k]["mean"] for w in keys], 0.4, yerr=[wd[w][k]["std"] for w in keys], capsize=3, label=lab, color=col)
    ax.set_xticks(x, [f"wd={w}" for w in keys])
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"ours: {_source_task(p)}")
    ax.legend(loc="lower left")
    lo = min(min(wd[w]["task"]["mean"] for w in keys), min(wd[w]["iid_acc"]["mean"] for w in keys))
    ax.set_ylim(max(0, lo - 15), 101)
    ax = axes[1]
    xx = np.arange(2)
    ax.bar(xx - 0.2, [t1["iid_wd0"], t1["iid_wd"]], 0.4, label="in-distribution (CIFAR10 test)", color="tab:purple")
    ax.bar(xx + 0.2, [t1["transfer_wd0"], t1["transfer_wd"]], 0.4, label="transfer (CIFAR10 → CIFAR100 probe)", color="tab:orange")
    ax.set_xticks(xx, ["wd=0", "wd=5e-4"])
    ax.set_ylabel("accuracy (%)")
    ax.set_title("paper, Table 1 (ResNet, CIFAR10)")
    ax.legend(loc="lower left")
    fig.suptitle("Weight decay vs in-distribution accuracy and transfer (Table 1 analogue)")
    fig.tight_layout()
    return fig
