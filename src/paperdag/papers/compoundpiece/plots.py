"""compoundpiece's figures, from metrics.json only (never training code)."""

from __future__ import annotations

from paperdag.core import plotting

ORDER = ("identity", "frequency", "compound_split", "stage1", "stage2", "stage12")
SHORT = {"identity": "no split", "frequency": "frequency\nsplitter", "compound_split": "compound-\nsplit (de,nl)",
         "stage1": "Stage 1", "stage2": "Stage 2\nonly", "stage12": "Stage 1+2"}


def main_accuracy(metrics: dict, p: dict, timing=None):
    """Average accuracy (segmentation, normalization) per method; the Stage 1 - unsupervised gap
    beside the paper's +13.9 points."""
    plt = plotting.setup()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    ms = [m for m in ORDER if m in metrics["methods"]]
    x = range(len(ms))
    for k, (task, color) in enumerate((("seg", "tab:blue"), ("norm", "tab:orange"))):
        vals = [100 * metrics["methods"][m][f"{task}_avg"]["mean"] for m in ms]
        errs = [100 * metrics["methods"][m][f"{task}_avg"]["std"] for m in ms]
        ax.bar([i + (k - 0.5) * 0.38 for i in x], vals, 0.38, yerr=errs, capsize=3, color=color,
               label="segmentation" if task == "seg" else "normalization")
    ax.set_xticks(list(x), [SHORT[m] for m in ms], fontsize=8)
    ax.set_ylabel("average accuracy (%) (pos/neg mean, macro over languages)")
    ax.set_ylim(0, 100)
    ax.set_title("compoundpiece: decompounding accuracy per method")
    ax.legend(fontsize=8)
    gap = metrics["claims_inputs"]["stage1_minus_frequency_seg"]
    ref = p["paper_reference"]["stage1_minus_unsupervised"]
    ax2.bar([0], [100 * gap["mean"]], yerr=[100 * gap["std"]], capsize=3, color="tab:blue", label="ours")
    ax2.bar([1], [ref], color="lightgray", hatch="//", label="paper (abstract)")
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.set_xticks([0, 1], ["ours", "paper"])
    ax2.set_ylabel("Stage 1 minus unsupervised (points)")
    ax2.set_title("Stage 1 vs unsupervised", fontsize=9)
    fig.tight_layout()
    return fig


def llm_easy_hard(metrics: dict, p: dict, timing=None):
    """SmolLM2 few-shot normalization accuracy on easy vs hard compounds, per language."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    llm = metrics.get("llm")
    if not llm:
        ax.text(0.5, 0.5, "LLM baseline off at this scale", ha="center", va="center")
        ax.set_axis_off()
        return fig
    langs = list(llm["per_lang"])
    for k, (cls, color) in enumerate((("easy", "tab:green"), ("hard", "tab:red"))):
        vals = [100 * llm["per_lang"][lg][cls]["norm"] for lg in langs]
        ns = [llm["per_lang"][lg][cls]["n"] for lg in langs]
        bars = ax.bar([i + (k - 0.5) * 0.38 for i in range(len(langs))], vals, 0.38, color=color,
                      label=f"{cls} compounds")
        for b, n in zip(bars, ns):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height() + 1, f"n={n}", ha="center", fontsize=7)
    ax.axhline(p["paper_reference"]["llm_hard_max"], color="black", linestyle="--",
               label="paper: < 3 % on hard in some settings (secondary source)")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_ylabel("normalization accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("compoundpiece: SmolLM2-135M few-shot, easy vs hard compounds")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def hard_rate(metrics: dict, p: dict, timing=None):
    """Share of hard compounds under plain SentencePiece vs CompoundPiece, per language."""
    plt = plotting.setup()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    tok = metrics["tokenizers"]
    langs = list(tok)
    for k, (key, label, color) in enumerate((("spm_hard_rate", "SentencePiece", "tab:gray"),
                                             ("compoundpiece_hard_rate", "CompoundPiece (pre-split by Stage 1)",
                                              "tab:purple"))):
        ax.bar([i + (k - 0.5) * 0.38 for i in range(len(langs))], [100 * tok[lg][key]["mean"] for lg in langs], 0.38,
               yerr=[100 * tok[lg][key]["std"] for lg in langs], capsize=3, color=color, label=label)
    ax.set_xticks(range(len(langs)), langs)
    top = max([100 * (tok[lg][k]["mean"] + tok[lg][k]["std"]) for lg in langs
               for k in ("spm_hard_rate", "compoundpiece_hard_rate")] + [0.0])
    ax.set_ylim(0, max(5.0, 1.15 * top))
    ax.set_ylabel("hard compounds (%)")
    ax.set_title("compoundpiece: hard-compound rate per tokenizer")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def training_curves(metrics: dict, p: dict, timing=None):
    """Validation accuracy during training, one line per run: Stage 1's hyphen re-insertion on the
    web validation words; Stage 2 only and Stage 1 + 2's normalization of the validation words (the
    curves that show whether each variant has plateaued)."""
    plt = plotting.setup()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = {"stage1": "tab:blue", "stage2": "tab:red", "stage12": "tab:green"}
    names = {"stage1": "Stage 1", "stage2": "Stage 2 only (random init)", "stage12": "Stage 1 + 2 (Stage-2 phase)"}
    for v, ax in (("stage1", ax1), ("stage2", ax2), ("stage12", ax2)):
        for i, r in enumerate(metrics.get("runs", {}).get(v, [])):
            curve = r.get("valid_curve") or []
            if curve:
                xs, ys = zip(*curve)
                ax.plot(xs, [100 * y for y in ys], "-o", ms=2.5, color=colors[v], alpha=0.8,
                        label=names[v] if i == 0 else None)
    ident = metrics.get("valid_identity_pooled_norm")
    if ident is not None:
        ax2.axhline(100 * ident, color="black", linestyle="--", linewidth=0.8, label="no split (control), validation")
    ax1.set_title("Stage 1: web validation (hyphenation)", fontsize=9)
    ax2.set_title("Stage 2: validation words (normalization)", fontsize=9)
    for ax in (ax1, ax2):
        ax.set_xlabel("training steps")
        ax.set_ylabel("exact-match accuracy (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7)
    fig.suptitle("compoundpiece: validation accuracy during training (one line per run)", fontsize=10)
    fig.tight_layout()
    return fig
