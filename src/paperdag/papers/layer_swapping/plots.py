"""layer_swapping's figures, from metrics.json only (never training code)."""

from __future__ import annotations

from paperdag.core import plotting

TYPE_LABELS = {"q_proj": "Q", "k_proj": "K", "v_proj": "V", "o_proj": "O", "gate_proj": "gate", "up_proj": "up", "down_proj": "down",
               "input_layernorm": "norm1", "post_attention_layernorm": "norm2"}


def change_heatmap(metrics: dict, p: dict, timing=None):
    """The paper's Figure 5 shape: relative change ||expert - base|| / ||base|| per layer and parameter
    type, for the math and the language expert (mean over runs), and each layer's share of the mass."""
    import numpy as np

    plt = plotting.setup()
    prof = metrics["profiles"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 5), gridspec_kw={"width_ratios": [1, 1, 1.1]}, layout="constrained")
    for ax, (e, title) in zip(axes[:2], (("math", "math expert"), ("lang", "language expert"))):
        rel = np.array(prof[e]["rel"])
        im = ax.imshow(rel, aspect="auto", origin="lower", cmap="viridis", vmin=0)  # each expert on its own scale (its pattern)
        fig.colorbar(im, ax=ax, label="||Δθ|| / ||θ_base|| (mean over runs)", fraction=0.08, pad=0.02)
        ax.set_xticks(range(len(prof[e]["types"])), [TYPE_LABELS.get(t, t) for t in prof[e]["types"]], rotation=45, fontsize=7)
        ax.set_ylabel("transformer layer (0 = bottom)")
        ax.set_xlabel("parameter type")
        ax.set_title(f"{title}: relative change", fontsize=9)
    ax = axes[2]
    for e, label, c in (("math", "math expert", "tab:blue"), ("lang", "language expert", "tab:orange")):
        share = 100 * np.array(prof[e]["layer_share"])
        ax.plot(share, range(len(share)), marker="o", ms=3, color=c, label=label)
    n = len(prof["math"]["layer_share"])
    ax.axvline(100 / n, color="0.5", ls=":", label="uniform")
    ax.set_xlabel("share of the update mass (%)")
    ax.set_ylabel("transformer layer (0 = bottom)")
    ax.set_title(f"per-layer share (n = {metrics['n_runs']} runs)", fontsize=9)
    ax.legend(fontsize=7)
    fig.suptitle("layer_swapping: where fine-tuning changes the weights (paper: Fig. 5)", fontsize=10)
    return fig


ROWS = [("base", "base"), ("math_expert", "math expert"), ("language_expert", "language\nexpert"), ("soup", "soup"), ("ties", "TIES"),
        ("joint_sft", "joint SFT"), ("swap_best", "swap\n(best on val)"), ("swap_mean", "swap\n(mean configs)")]


def german_math(metrics: dict, p: dict, timing=None):
    """The main table as bars: German and English exact match per model (mean ± std over runs)."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    rows = [(k, lab) for k, lab in ROWS if metrics["models"][k]["acc_de"]["n"]]
    w = 0.38
    for j, (f, label, c) in enumerate((("acc_de", "German problems", "tab:red"), ("acc_en", "English renderings (control)", "tab:blue"))):
        s = [metrics["models"][k][f] for k, _ in rows]
        # rows without this measurement (English of the mean over configurations: not evaluated) stay empty
        ax.bar([i + (j - 0.5) * w for i in range(len(rows))], [x["mean"] if x["mean"] is not None else float("nan") for x in s], w,
               yerr=[x["std"] or 0.0 for x in s], capsize=2, color=c, label=label)
    ax.set_xticks(range(len(rows)), [lab for _, lab in rows], fontsize=8)
    ax.set_ylabel("exact match of the final integer (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"layer_swapping: math accuracy by model (n = {metrics['n_runs']} expert pairs; base, joint SFT: see table)", fontsize=9)
    ax.text(0.99, 0.97, f"paper: layer swap beats the experts and other merges by {p['paper_reference']['headline_gain']:.0f}% on MGSM\n"
            "(aggregate over sw, te, bn, ja; not comparable in absolute terms)", transform=ax.transAxes, ha="right", va="top", fontsize=7)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
